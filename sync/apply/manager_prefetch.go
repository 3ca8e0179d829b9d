package apply

import (
	"context"
	"sync"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// listMin is the number of new objects of one kind in one namespace from which one list of the
// namespace's objects of that kind is cheaper than a GET for each.
const listMin = 4

// others answers, for objects missing from this root's cache, whether an object of the same name
// exists (someone else's, or ours not yet seen by the watch) without a GET for each. A first sync
// of a fleet is all new objects, and a GET before every apply doubled its requests.
type others struct {
	// absent objects do not exist: their namespace was created by this sync, or a list of their
	// kind in their namespace did not hold them.
	absent map[ObjectRef]bool
	// present holds the metadata (labels, annotations) of those that do.
	present map[ObjectRef]*unstructured.Unstructured
}

// lookup says what is known about ref: (nil, true) absent, (obj, true) present, (_, false) ask.
func (o *others) lookup(ref ObjectRef) (*unstructured.Unstructured, bool) {
	if o == nil {
		return nil, false
	}
	if o.absent[ref] {
		return nil, true
	}
	u, ok := o.present[ref]
	return u, ok
}

type groupKey struct {
	gvk schema.GroupVersionKind
	ns  string
}

// prefetch creates the namespaces the workspaces need and learns which of their objects missing
// from the cache exist. A namespace created here held nothing when it was created, so its objects
// are absent; in a namespace that existed, a kind with at least listMin new objects is listed
// (metadata only). Both are what a GET per object would say, at the same moment in the same race
// with other writers. Anything not learnt here (an error, a small group) falls back to a GET.
func (m *Manager) prefetch(ctx context.Context, wss []Workspace) *others {
	if m.opts.DryRun || m.meta == nil {
		return nil
	}
	groups := map[groupKey][]ObjectRef{}
	for _, ws := range wss {
		for _, o := range ws.Objects {
			gvk, ns := o.GroupVersionKind(), o.GetNamespace()
			if _, err := kindOf(gvk); err != nil || ns == "" || m.namespaceAllowed(ns) != nil || m.unwatched[gvk] != nil {
				continue // applyOne reports it
			}
			if _, ok := m.live(gvk, ns, o.GetName()); ok {
				continue
			}
			g := groupKey{gvk, ns}
			groups[g] = append(groups[g], ObjectRef{Kind: gvk.Kind, Namespace: ns, Name: o.GetName()})
		}
	}
	if len(groups) == 0 {
		return nil
	}
	out := &others{absent: map[ObjectRef]bool{}, present: map[ObjectRef]*unstructured.Unstructured{}}
	var mu sync.Mutex
	created := map[string]bool{}
	nss := map[string]bool{}
	for g := range groups {
		nss[g.ns] = true
	}
	m.parallel(ctx, len(nss), func(run func(func())) {
		for ns := range nss {
			run(func() {
				c, err := m.ensureNamespaceCreated(ctx, ns)
				if err == nil && c {
					mu.Lock()
					created[ns] = true
					mu.Unlock()
				}
			})
		}
	})
	m.parallel(ctx, len(groups), func(run func(func())) {
		for g, refs := range groups {
			switch {
			case created[g.ns]:
				mu.Lock()
				for _, r := range refs {
					out.absent[r] = true
				}
				mu.Unlock()
			case len(refs) >= listMin:
				run(func() {
					names, err := m.listNames(ctx, g)
					if err != nil {
						return // GET each
					}
					mu.Lock()
					defer mu.Unlock()
					for _, r := range refs {
						if u, ok := names[r.Name]; ok {
							out.present[r] = u
						} else {
							out.absent[r] = true
						}
					}
				})
			}
		}
	})
	return out
}

// parallel runs the functions given to run, Options.Concurrency at a time, and waits for them;
// once ctx ends, the ones not started yet are dropped.
func (m *Manager) parallel(ctx context.Context, n int, each func(run func(func()))) {
	if n == 0 {
		return
	}
	var g errgroup.Group
	g.SetLimit(m.opts.Concurrency)
	each(func(f func()) {
		if ctx.Err() != nil {
			return
		}
		g.Go(func() error { f(); return nil })
	})
	_ = g.Wait() // the functions report through what they close over
}

// listNames lists the metadata of a kind's objects in a namespace, by name.
func (m *Manager) listNames(ctx context.Context, g groupKey) (map[string]*unstructured.Unstructured, error) {
	k := kinds[g.gvk]
	out := map[string]*unstructured.Unstructured{}
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := m.meta.Resource(k.gvr).Namespace(g.ns).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, it := range list.Items {
			u := &unstructured.Unstructured{}
			u.SetName(it.Name)
			u.SetNamespace(it.Namespace)
			u.SetLabels(it.Labels)
			u.SetAnnotations(it.Annotations)
			out[it.Name] = u
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

// ensureNamespaceCreated is ensureNamespace, also reporting whether this call created it.
func (m *Manager) ensureNamespaceCreated(ctx context.Context, ns string) (created bool, err error) {
	if _, ok := m.namespaces.Load(ns); ok {
		return false, nil
	}
	nsClient := m.dyn.Resource(namespacesGVR)
	if _, err := nsClient.Get(ctx, ns, metav1.GetOptions{}); err == nil {
		m.namespaces.Store(ns, true)
		return false, nil
	} else if !apierrors.IsNotFound(err) {
		return false, err
	}
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("v1")
	obj.SetKind("Namespace")
	obj.SetName(ns)
	obj.SetLabels(map[string]string{"app.kubernetes.io/created-by": ownership.ManagedBy})
	_, err = nsClient.Create(ctx, obj, metav1.CreateOptions{FieldManager: ownership.FieldManager})
	switch {
	case err == nil:
		m.namespaces.Store(ns, true)
		return true, nil
	case apierrors.IsAlreadyExists(err): // created by someone else meanwhile: it may hold anything
		m.namespaces.Store(ns, true)
		return false, nil
	}
	return false, err
}
