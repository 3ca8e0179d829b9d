// Package aks provisions GPU nodes as AKS agent pools: one user pool per workspace, named from the
// workspace so a restart finds it, tagged so garbage collection touches only kaito-sync's pools.
// Cloud operations run in the background; Ensure reports their progress and never waits for them.
package aks

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"k8s.io/client-go/kubernetes"
)

// Config says which cluster's pools to manage and how.
type Config struct {
	SubscriptionID string
	ResourceGroup  string
	Cluster        string
	Credential     azcore.TokenCredential
	// ClientOptions override the ARM endpoint (Cloud) and transport, for tests and sovereign clouds.
	ClientOptions *arm.ClientOptions
	// PollInterval is how often a running operation is polled; default 10s.
	PollInterval time.Duration
	// Backoff is the wait before retrying a failed operation, doubled per consecutive failure up to
	// MaxBackoff; defaults 30s and 10m.
	Backoff, MaxBackoff time.Duration
	Logger              *slog.Logger
	// Root identifies this kaito-sync instance (apply.RootID); pools are tagged with it and only
	// pools carrying it are adopted or collected.
	Root string
	// Observe, when set, sees every finished agent pool operation: its kind (create, update,
	// replace, resume, delete), how long it ran, and the failure reason ("" on success). Metrics
	// hang here so this package needs no metrics library.
	Observe func(op string, elapsed time.Duration, reason string)
}

// Provisioner manages the agent pools of one AKS cluster.
type Provisioner struct {
	client *armcontainerservice.AgentPoolsClient
	cfg    Config
	kube   kubernetes.Interface
	log    *slog.Logger
	life   context.Context // background operations end with it

	mu             sync.Mutex
	ops            map[string]*op    // by pool name
	listed         map[string]string // workspace → pool name, from the last List
	throttledUntil time.Time
	throttle       failure
}

// New returns a provisioner whose background operations live as long as ctx. kube is the cluster
// whose nodes tell when a pool's nodes are Ready.
func New(ctx context.Context, cfg Config, kube kubernetes.Interface) (*Provisioner, error) {
	for what, v := range map[string]string{"subscription": cfg.SubscriptionID, "resource group": cfg.ResourceGroup, "cluster": cfg.Cluster} {
		if v == "" {
			return nil, fmt.Errorf("aks provisioner: no %s given", what)
		}
	}
	if cfg.Credential == nil {
		return nil, fmt.Errorf("aks provisioner: no credential")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 10 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := arm.ClientOptions{}
	if cfg.ClientOptions != nil {
		opts = *cfg.ClientOptions
	}
	if opts.Retry.StatusCodes == nil {
		// 429 is left out: the SDK would sleep through Retry-After inside a sync. We surface it
		// as Throttled and make no ARM call until Retry-After has passed.
		opts.Retry.StatusCodes = []int{http.StatusRequestTimeout, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	}
	client, err := armcontainerservice.NewAgentPoolsClient(cfg.SubscriptionID, cfg.Credential, &opts)
	if err != nil {
		return nil, fmt.Errorf("aks provisioner: %w", err)
	}
	return &Provisioner{client: client, cfg: cfg, kube: kube, log: log.With("cluster", cfg.Cluster), life: ctx,
		ops: map[string]*op{}, listed: map[string]string{}}, nil
}
