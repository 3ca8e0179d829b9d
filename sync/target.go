package sync

import (
	"context"

	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// Target is where rendered workspaces go: a cluster (server-side apply) or a tree of manifests for
// another GitOps engine (hydrate mode).
type Target interface {
	// Begin starts a sync of snapshot (a Git target refreshes its branch here).
	Begin(ctx context.Context, snap source.Snapshot) error
	// Inventory lists what the target holds for this sync root, by workspace key.
	Inventory(ctx context.Context) (map[string][]apply.ObjectRef, error)
	// Apply makes the target hold the workspaces' objects.
	Apply(ctx context.Context, wss []apply.Workspace) apply.ChangeSet
	// Delete removes objects of one workspace.
	Delete(ctx context.Context, wsKey string, refs []apply.ObjectRef) apply.ChangeSet
	// Finish ends a sync of snapshot (a Git target commits here); it is called once per sync.
	Finish(ctx context.Context, snap source.Snapshot) error
}

// Cluster is the Target of a Kubernetes cluster, through an apply.Manager.
type Cluster struct{ M *apply.Manager }

func (c Cluster) Inventory(context.Context) (map[string][]apply.ObjectRef, error) {
	return c.M.Inventory(), nil
}

func (c Cluster) Apply(ctx context.Context, wss []apply.Workspace) apply.ChangeSet {
	return c.M.ApplyAll(ctx, wss)
}

func (c Cluster) Delete(ctx context.Context, wsKey string, refs []apply.ObjectRef) apply.ChangeSet {
	return c.M.Delete(ctx, wsKey, refs)
}

func (Cluster) Begin(context.Context, source.Snapshot) error { return nil }

func (Cluster) Finish(context.Context, source.Snapshot) error { return nil }
