package apply

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
)

// driftHandler watches this root's objects: when one no longer holds what kaito-sync applied, it
// is queued on the drift channel. Status-only updates (the bulk of watch traffic from workloads)
// are dropped without comparing anything.
func (m *Manager) driftHandler(gvk schema.GroupVersionKind) cache.ResourceEventHandler {
	check := func(u *unstructured.Unstructured) {
		ref := ObjectRef{Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
		m.mu.Lock()
		want := m.desired[ref]
		m.mu.Unlock()
		if want == nil || u.GetDeletionTimestamp() != nil || !drifted(want, u) {
			return
		}
		select {
		case m.drift <- ref:
		default: // the queue is full: the next sync re-applies everything that drifted anyway
		}
	}
	return cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*unstructured.Unstructured)
			n, ok2 := newObj.(*unstructured.Unstructured)
			if !ok1 || !ok2 || statusOnly(o, n) || specFingerprint(o) == specFingerprint(n) {
				return
			}
			check(n)
		},
		DeleteFunc: func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				check(u) // a deleted object has drifted as far as it can
			}
		},
	}
}

// statusOnly reports an update that cannot have changed what kaito-sync applied, without hashing:
// for the workloads (apps and batch kinds, whose every spec change bumps metadata.generation), an
// equal generation with equal labels and annotations. A first sync of 1,000 workspaces brings
// thousands of such updates (controllers writing status) while the API server needs every core.
// Other kinds do not all keep a generation; they are hashed.
func statusOnly(o, n *unstructured.Unstructured) bool {
	switch o.GroupVersionKind().Group {
	case "apps", "batch":
	default:
		return false
	}
	g := o.GetGeneration()
	return g > 0 && g == n.GetGeneration() &&
		maps.Equal(o.GetLabels(), n.GetLabels()) && maps.Equal(o.GetAnnotations(), n.GetAnnotations())
}

// specFingerprint hashes what a user can change: everything but status and server bookkeeping.
func specFingerprint(u *unstructured.Unstructured) [32]byte {
	c := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		if k != "status" && k != "metadata" {
			c[k] = v
		}
	}
	c["labels"], c["annotations"] = u.GetLabels(), u.GetAnnotations()
	b, _ := json.Marshal(c)
	return sha256.Sum256(b)
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
	wsKey := want.GetLabels()[LabelWorkspaceNamespace] + "/" + want.GetLabels()[LabelWorkspace]
	_, err := m.dyn.Resource(k.gvr).Namespace(ref.Namespace).Apply(ctx, ref.Name, want, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return Change{Object: ref, Workspace: wsKey, Action: Failed, Err: fmt.Errorf("%s repair failed: %w", ref, err)}
	}
	return Change{Object: ref, Workspace: wsKey, Action: Configured, Reason: "drift repaired"}
}
