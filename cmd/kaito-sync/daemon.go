package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/kaito-sync/kaito-sync/sync/leader"
	"github.com/kaito-sync/kaito-sync/sync/metrics"
)

// daemonFlags are the sync command's flags for running as a long-lived, replicated controller.
type daemonFlags struct {
	leaderElect                               bool
	leaseNamespace, leaseName                 string
	leaseDuration, renewDeadline, retryPeriod time.Duration
	metricsAddr                               string
	shutdownGrace                             time.Duration
	logFormat                                 string
}

func addDaemonFlags(fs *pflag.FlagSet) *daemonFlags {
	f := &daemonFlags{}
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "run as one of several replicas: only the holder of a Lease syncs, applies, provisions and writes statuses")
	fs.StringVar(&f.leaseNamespace, "leader-election-namespace", "", "namespace of the Lease (default: $POD_NAMESPACE, else the in-cluster namespace)")
	fs.StringVar(&f.leaseName, "leader-election-id", "kaito-sync", "name of the Lease; replicas syncing the same repository share it")
	fs.DurationVar(&f.leaseDuration, "leader-election-lease-duration", 15*time.Second, "how long followers wait before taking over a Lease not renewed")
	fs.DurationVar(&f.renewDeadline, "leader-election-renew-deadline", 10*time.Second, "how long the leader keeps trying to renew before it stops syncing")
	fs.DurationVar(&f.retryPeriod, "leader-election-retry-period", 2*time.Second, "how often replicas try to acquire or renew the Lease")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "listen address for /metrics, /healthz and /readyz, e.g. :8080 (off when empty)")
	fs.DurationVar(&f.shutdownGrace, "shutdown-grace", 30*time.Second, "on SIGTERM, how long a sync in progress may run on to finish its apply")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	return f
}

// leaseNamespace is where the Lease lives: the flag, else the Pod's namespace (downward API), else
// the namespace of the in-cluster ServiceAccount.
func (f *daemonFlags) namespace() (string, error) {
	if f.leaseNamespace != "" {
		return f.leaseNamespace, nil
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns, nil
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	return "", usageErrorf("--leader-elect needs --leader-election-namespace (or POD_NAMESPACE)")
}

// probes answers /healthz and /readyz. Ready means set up and not shutting down: a follower is
// ready too (it serves metrics and takes over at once), so a rollout of two replicas completes.
type probes struct {
	ready    atomic.Bool
	stopping atomic.Bool
	elector  *leader.Elector
}

func (p *probes) healthz(w http.ResponseWriter, r *http.Request) {
	if p.elector != nil {
		if err := p.elector.Healthz(r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

func (p *probes) readyz(w http.ResponseWriter, _ *http.Request) {
	switch {
	case p.stopping.Load():
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
	case !p.ready.Load():
		http.Error(w, "starting", http.StatusServiceUnavailable)
	default:
		fmt.Fprintln(w, "ok")
	}
}

// serve runs an HTTP server on addr until ctx ends; the listener is opened before it returns, so a
// port in use is an error at start, not a log line later.
func serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger, what string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(what+" server stopped", "err", err)
		}
	}()
	log.Info(what+" listening", "addr", ln.Addr().String())
	return nil
}

// serveObservability starts /metrics, /healthz and /readyz when --metrics-addr is set.
func serveObservability(ctx context.Context, addr string, m *metrics.Metrics, p *probes, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/healthz", p.healthz)
	mux.HandleFunc("/readyz", p.readyz)
	return serve(ctx, addr, mux, log, "metrics")
}

// runLeading runs lead while this process leads: always, without --leader-elect; while it holds
// the Lease, with it. stop ends lead gracefully (lead must return); leadership lost ends lead's
// context at once and is an error, so the process exits and restarts as a follower.
func runLeading(stop context.Context, f *daemonFlags, cfg *rest.Config, m *metrics.Metrics, p *probes, log *slog.Logger,
	lead func(leading context.Context)) error {
	if !f.leaderElect {
		m.SetLeader(true)
		p.ready.Store(true)
		lead(context.WithoutCancel(stop))
		return nil
	}
	if cfg == nil {
		return usageErrorf("--leader-elect needs --target cluster: the Lease lives in the cluster")
	}
	ns, err := f.namespace()
	if err != nil {
		return err
	}
	e, err := leader.New(leader.Options{
		Config: cfg, Namespace: ns, Name: f.leaseName,
		LeaseDuration: f.leaseDuration, RenewDeadline: f.renewDeadline, RetryPeriod: f.retryPeriod,
		Pod: os.Getenv("POD_NAME"), Logger: log, OnChange: m.SetLeader,
	})
	if err != nil {
		return err
	}
	p.elector = e
	p.ready.Store(true)
	m.SetLeader(false)
	return e.Run(stop, lead)
}

// setMemoryLimit gives the Go runtime a soft memory limit of 90% of the container's (cgroup)
// memory limit, as GOMEMLIMIT would. Without one, the heap may grow to twice what is live between
// two collections, and a pod limited to what kaito-sync needs is OOM-killed in a burst (a first
// sync of a fleet) that a collection would have absorbed. GOMEMLIMIT set by hand wins;
// AUTOMEMLIMIT=off turns this off, AUTOMEMLIMIT=0.8 changes the ratio. With no container limit
// nothing changes.
//
// automemlimit is what Prometheus and others use for this: reading cgroup v1 and v2 limits
// correctly (nested hierarchies, "max") is more code than it looks.
//
// It also collects at 75% heap growth instead of Go's 100% unless GOGC is set, as Prometheus does:
// kaito-sync's heap is short bursts (a sync, a status write) over a small live set, and the peak of
// a burst is what a pod's memory limit must hold. Measured on 1,000 workspaces (BENCHMARKS.md):
// about 10 MiB less peak RSS, for ~15% more CPU in a render-bound burst.
func setMemoryLimit(log *slog.Logger) {
	if _, err := memlimit.Set(memlimit.WithLogger(log)); err != nil { // it logs the limit it sets
		log.Debug("no container memory limit read; the Go runtime has no soft memory limit", "err", err)
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

const gcPercent = 75
