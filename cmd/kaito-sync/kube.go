package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// clusterAccess is how a command finds its cluster, as kubectl does: --kubeconfig, else
// $KUBECONFIG, else ~/.kube/config, else the in-cluster service account; --context picks one of
// the kubeconfig's contexts.
type clusterAccess struct {
	kubeconfig string
	context    string
}

// explicit reports whether the user named the cluster (a flag or $KUBECONFIG): then a kubeconfig
// that cannot be loaded is an error, never a reason to go somewhere else (sync would otherwise
// choose the Git target and push to the repository).
func (a clusterAccess) explicit() bool {
	return a.kubeconfig != "" || a.context != "" || os.Getenv("KUBECONFIG") != ""
}

// config loads the cluster's REST config.
func (a clusterAccess) config() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	switch {
	case a.kubeconfig != "":
		if _, err := os.Stat(a.kubeconfig); err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
		rules.ExplicitPath = a.kubeconfig
	case os.Getenv("KUBECONFIG") != "":
		// clientcmd skips the files of $KUBECONFIG that do not exist; all of them missing is a
		// typo, not an empty configuration.
		if !anyExists(filepath.SplitList(os.Getenv("KUBECONFIG"))) {
			return nil, fmt.Errorf("$KUBECONFIG names no file that exists (%s)", os.Getenv("KUBECONFIG"))
		}
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: a.context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err == nil {
		return cfg, nil
	}
	if !a.explicit() {
		if in, inErr := rest.InClusterConfig(); inErr == nil {
			return in, nil
		}
	}
	if a.context != "" {
		return nil, fmt.Errorf("--context %s: %w", a.context, err)
	}
	return nil, fmt.Errorf("no cluster access: %w", err)
}

func anyExists(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// reachAPIServer asks the API server for its version within timeout: a cluster that does not
// answer is reported in seconds, where the informers' list-and-watch would retry silently forever.
// A server that answers but refuses the credentials is an error too; one that forbids /version is
// reachable.
func reachAPIServer(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	// Both the client's timeout and the context's: against a server that accepts and stays silent,
	// the context alone was seen to end the request only after the TLS handshake timeout (13 s
	// for a 2 s deadline).
	c := rest.CopyConfig(cfg)
	c.Timeout = timeout
	client, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return fmt.Errorf("API server %s: %w", cfg.Host, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = client.RESTClient().Get().AbsPath("/version").Do(ctx).Error()
	switch {
	case err == nil, apierrors.IsForbidden(err):
		return nil
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("API server %s refused the credentials: %w", cfg.Host, err)
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		return fmt.Errorf("API server %s unreachable: no answer within %s (--api-server-timeout)", cfg.Host, timeout)
	}
	return fmt.Errorf("API server %s unreachable: %w", cfg.Host, err)
}

// waitForAPIServer is reachAPIServer for the long-running sync: it retries with backoff (1 s
// doubling to a minute) and says so each time, until the server answers or ctx ends.
func waitForAPIServer(ctx context.Context, cfg *rest.Config, timeout time.Duration, log *slog.Logger) error {
	delay := time.Second
	for {
		err := reachAPIServer(ctx, cfg, timeout)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Error("cannot start syncing: retrying", "err", err, "retry_in", delay.String())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, time.Minute)
	}
}
