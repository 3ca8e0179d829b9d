package apply

import (
	"context"
	"fmt"
	"slices"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// Delete removes objects of this root, workloads first. An object that is not labelled as this
// root's (it changed hands, or the caller is wrong) is skipped: prune deletes only what it owns.
func (m *Manager) Delete(ctx context.Context, wsKey string, refs []ObjectRef) ChangeSet {
	var cs ChangeSet
	refs = slices.Clone(refs)
	slices.SortFunc(refs, func(a, b ObjectRef) int { return compareRefs(b, a) })
	for _, ref := range refs {
		c := Change{Object: ref, Workspace: wsKey}
		gvk, ok := gvkOfKind(ref.Kind)
		if !ok {
			c.Action, c.Reason = Skipped, "not a kind kaito-sync manages"
			cs.Add(c)
			continue
		}
		live, exists := m.live(gvk, ref.Namespace, ref.Name)
		if !exists {
			c.Action, c.Reason = Skipped, "already gone"
			cs.Add(c)
			continue
		}
		if l := live.GetLabels(); l[ownership.LabelManagedBy] != ownership.ManagedBy || l[ownership.LabelSyncRoot] != m.opts.Root {
			c.Action, c.Reason = Skipped, "not owned by this kaito-sync"
			cs.Add(c)
			continue
		}
		if m.opts.DryRun {
			c.Action, c.Reason = Deleted, "dry run"
			cs.Add(c)
			continue
		}
		// Forget first: the watch's delete event must not read as drift to repair.
		m.forget(ref)
		policy := metav1.DeletePropagationBackground
		// The UID precondition makes sure the object deleted is the one judged ours above.
		uid := live.GetUID()
		err := m.dyn.Resource(kinds[gvk].gvr).Namespace(ref.Namespace).Delete(ctx, ref.Name, metav1.DeleteOptions{
			PropagationPolicy: &policy,
			Preconditions:     &metav1.Preconditions{UID: &uid},
		})
		switch {
		case err == nil || apierrors.IsNotFound(err):
			c.Action = Deleted
		default:
			c.Action, c.Err = Failed, fmt.Errorf("%s delete failed: %w", ref, err)
		}
		cs.Add(c)
	}
	return cs
}
