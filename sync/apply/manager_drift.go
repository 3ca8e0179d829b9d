package apply

import (
	"context"
	"fmt"
	"maps"
	"reflect"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
)

// driftHandler watches this root's objects (their metadata): when one may no longer hold what
// kaito-sync applied, its full object is read and compared, and it is queued on the drift channel
// if it differs. Status-only updates (the bulk of watch traffic from workloads) and the events of
// kaito-sync's own writes are dropped without a request.
func (m *Manager) driftHandler(gvk schema.GroupVersionKind) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*metav1.PartialObjectMetadata)
			n, ok2 := newObj.(*metav1.PartialObjectMetadata)
			if !ok1 || !ok2 {
				return
			}
			ref := ObjectRef{Kind: gvk.Kind, Namespace: n.Namespace, Name: n.Name}
			m.mu.Lock()
			want, own := m.desired[ref], m.written[ref]
			m.mu.Unlock()
			if want == nil || !mayHaveDrifted(gvk, o, n, own) {
				return
			}
			m.check(gvk, ref, want, n)
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			o, ok := obj.(metav1.Object)
			if !ok {
				return
			}
			ref := ObjectRef{Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
			m.mu.Lock()
			want := m.desired[ref]
			m.mu.Unlock()
			if want != nil { // a deleted object has drifted as far as it can
				m.queueDrift(ref)
			}
		},
	}
}

// mayHaveDrifted reports an update that may have changed what kaito-sync applied, from metadata
// alone. own is the resourceVersion of kaito-sync's last write of the object.
//
// For the workloads (apps and batch kinds, whose every spec change bumps metadata.generation) an
// equal generation with equal labels and annotations is a status update: a first sync of 1,000
// workspaces brings thousands of those while the API server needs every core. Other kinds keep
// no generation, so any update of someone else's may have changed them.
func mayHaveDrifted(gvk schema.GroupVersionKind, o, n *metav1.PartialObjectMetadata, own string) bool {
	switch {
	case own != "" && n.ResourceVersion == own:
		return false // kaito-sync's own write
	case n.DeletionTimestamp != nil:
		return true
	case !maps.Equal(o.Labels, n.Labels) || !maps.Equal(o.Annotations, n.Annotations):
		return true
	}
	switch gvk.Group {
	case "apps", "batch":
		return n.Generation == 0 || n.Generation != o.Generation
	}
	return true
}

// check reads the object whose metadata says it may have drifted and queues it if it has. A
// failed read queues it too: a repair of an object that had not drifted writes nothing, a missed
// drift would stay until the workspace next changes.
func (m *Manager) check(gvk schema.GroupVersionKind, ref ObjectRef, want *unstructured.Unstructured, meta *metav1.PartialObjectMetadata) {
	if meta.DeletionTimestamp != nil || !subset(want.GetLabels(), meta.Labels) || !subset(want.GetAnnotations(), meta.Annotations) {
		m.queueDrift(ref)
		return
	}
	ctx := m.watchCtx // set by Start before any watch runs
	live, err := m.dyn.Resource(kinds[gvk].gvr).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return // its delete event follows
	case err != nil:
		if ctx.Err() == nil {
			m.queueDrift(ref)
		}
		return
	}
	m.mu.Lock()
	own := m.written[ref]
	m.mu.Unlock()
	if own != "" && live.GetResourceVersion() == own {
		return
	}
	if drifted(want, live) {
		m.queueDrift(ref)
	}
}

func (m *Manager) queueDrift(ref ObjectRef) {
	select {
	case m.drift <- ref:
	default: // the queue is full: the next change of the workspace re-applies it anyway
	}
}

// drifted reports whether live no longer holds every field of want. Fields others added (server
// defaults, other managers' fields) are not drift; kaito-sync owns only what it applies.
func drifted(want, live *unstructured.Unstructured) bool {
	if live.GetDeletionTimestamp() != nil {
		return true
	}
	for k, v := range want.Object {
		switch k {
		case "metadata":
			if !subset(want.GetLabels(), live.GetLabels()) || !subset(want.GetAnnotations(), live.GetAnnotations()) {
				return true
			}
		case "status":
		default:
			if !subset(v, live.Object[k]) {
				return true
			}
		}
	}
	return false
}

// subset reports whether every value in want is present and equal in have. Lists match item by
// item; numbers compare by value, whatever their Go type.
func subset(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return len(w) == 0 && have == nil
		}
		for k, v := range w {
			if !subset(v, h[k]) {
				return false
			}
		}
		return true
	case map[string]string:
		h, _ := have.(map[string]string)
		for k, v := range w {
			if h[k] != v {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return len(w) == 0 && have == nil
		}
		if len(h) < len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], h[i]) {
				return false
			}
		}
		return true
	case nil:
		return true
	}
	if wn, ok := number(want); ok {
		hn, ok := number(have)
		return ok && wn == hn
	}
	return reflect.DeepEqual(want, have)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// Repair re-applies the desired state of a drifted object. It is a plain apply with force: if the
// object matches after all, the API server makes no write.
func (m *Manager) Repair(ctx context.Context, ref ObjectRef) Change {
	m.mu.Lock()
	want := m.desired[ref]
	m.mu.Unlock()
	if want == nil {
		return Change{Object: ref, Action: Skipped, Reason: "not applied by this kaito-sync"}
	}
	gvk, _ := gvkOfKind(ref.Kind)
	k := kinds[gvk]
	wsKey := want.GetLabels()[ownership.LabelWorkspaceNamespace] + "/" + want.GetLabels()[ownership.LabelWorkspace]
	rv, err := m.serverSideApply(ctx, k, want, metav1.ApplyOptions{FieldManager: ownership.FieldManager, Force: true})
	if err != nil {
		return Change{Object: ref, Workspace: wsKey, Action: Failed, Err: fmt.Errorf("%s repair failed: %w", ref, err)}
	}
	m.wrote(ref, rv)
	return Change{Object: ref, Workspace: wsKey, Action: Configured, Reason: "drift repaired"}
}
