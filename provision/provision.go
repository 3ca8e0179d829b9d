// Package provision gets GPU nodes for workspaces: AKS agent pools created on demand, or nodes the
// user already has. It reports why nodes are not ready, so a workspace is never "not ready" without
// a reason.
package provision

import (
	"context"
	"time"
)

// Need is what one workspace asks of the nodes.
type Need struct {
	// Workspace is "namespace/name".
	Workspace    string
	InstanceType string // "" for bring-your-own nodes without a SKU
	Count        int
	// Labels the nodes must carry: the workspace's labelSelector.matchLabels.
	Labels         map[string]string
	PreferredNodes []string
	GPUsPerNode    int
	DiskGiB        int
}

// NodeState is where a workspace's nodes stand.
type NodeState struct {
	Ready bool
	// Reason is a CamelCase cause for the ResourceReady condition: Provisioning, NodesReady,
	// QuotaExceeded, SKUNotAvailable, Throttled, ProvisioningFailed, NodesNotReady, ...
	Reason  string
	Message string
	Nodes   []string
	// RetryAfter, when set, is how long to wait before asking again (throttling, backoff).
	RetryAfter time.Duration
}

// Provisioner ensures nodes for workspaces. Ensure must not block for the minutes a cloud takes:
// it starts or continues the work and reports the state; the next call reports progress.
type Provisioner interface {
	Ensure(ctx context.Context, need Need) (NodeState, error)
	// Release gives up the nodes of a workspace Git no longer declares.
	Release(ctx context.Context, workspace string) error
	// List names the workspaces that hold nodes from this provisioner, for garbage collection.
	List(ctx context.Context) ([]string, error)
}
