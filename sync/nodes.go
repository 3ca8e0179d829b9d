package sync

import (
	"context"
	"strings"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// needOf is what a workspace asks of its nodes.
func (r *Reconciler) needOf(ws *workspaces.Workspace, companions []*workspaces.Companion) provision.Need {
	n := provision.Need{
		Workspace:      ws.Key(),
		InstanceType:   ws.InstanceType(),
		Count:          render.NodeCount(r.cat, ws, companions), // Kaito's estimate replaces resource.count
		PreferredNodes: ws.Resource.PreferredNodes,
		Labels:         map[string]string{},
	}
	if ws.Resource.LabelSelector != nil {
		for k, v := range ws.Resource.LabelSelector.MatchLabels {
			n.Labels[k] = v
		}
	}
	if sku, ok := r.cat.SKU(n.InstanceType); ok {
		n.InstanceType = sku.Name
		n.GPUsPerNode = sku.GPUCount
	}
	if m, err := r.cat.Resolve(ws.PresetName()); err == nil {
		n.DiskGiB = m.DiskGiB
		if n.GPUsPerNode == 0 {
			n.GPUsPerNode = 1 // presets have no GPU count of their own since Kaito v0.11.0
		}
	}
	return n
}

func (r *Reconciler) ensureNodes(ctx context.Context, valid []*workspaces.Workspace, set *workspaces.Set, res *Result) {
	if r.opts.Provisioner == nil {
		return
	}
	for _, ws := range valid {
		state, err := r.opts.Provisioner.Ensure(ctx, r.needOf(ws, set.CompanionsOf(ws)))
		if err != nil {
			state = provision.NodeState{Reason: "ProvisioningFailed", Message: err.Error()}
			r.log.Error("nodes", "workspace", ws.Key(), "err", err)
		}
		res.Nodes[ws.Key()] = state
	}
}

// releaseNodes gives back the nodes of workspaces Git no longer declares: those whose objects were
// pruned in this sync, and, for garbage collection, any the provisioner still holds for a
// workspace that is declared nowhere. Callers only get here when pruning was allowed.
func (r *Reconciler) releaseNodes(ctx context.Context, set *workspaces.Set, res *Result) {
	if r.opts.Provisioner == nil {
		return
	}
	declared, anonymous := set.Declared()
	held, err := r.opts.Provisioner.List(ctx)
	if err != nil {
		r.log.Error("listing provisioned nodes", "err", err)
		return
	}
	var gone []string
	for _, key := range held {
		if !declared[key] {
			gone = append(gone, key)
		}
	}
	// The same guard as for objects: node pools are the costly thing to lose by mistake.
	if blocked := pruneRefusal(set, anonymous, gone, len(held), r.opts.AllowMassPrune); blocked != "" {
		res.PruneBlocked = blocked
		return
	}
	for _, key := range gone {
		c := apply.Change{Object: apply.ObjectRef{Kind: "NodePool", Name: strings.ReplaceAll(key, "/", ".")}, Workspace: key, Action: apply.Deleted}
		if err := r.opts.Provisioner.Release(ctx, key); err != nil {
			c.Action, c.Err = apply.Failed, err
		}
		res.Changes.Add(c)
	}
}
