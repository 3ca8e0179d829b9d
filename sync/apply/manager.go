package apply

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kaito-sync/kaito-sync/sync/informers"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// Options configure a Manager.
type Options struct {
	// Root identifies this kaito-sync instance's objects (see RootID); required.
	Root string
	// Namespaces, when set, are the only namespaces objects may be applied to; unset, any but
	// workspaces.ProtectedNamespaces (workspaces.NamespacePolicy).
	Namespaces []string
	// Concurrency bounds the objects ApplyAll applies at once (default 32: a first sync is
	// bound by round trips, and the API server's priority and fairness pushes back when busy).
	Concurrency int
	// DryRun sends every write as a server-side dry run: validated, defaulted, not persisted.
	DryRun bool
	// DeleteTimeout bounds the wait for an object to disappear during a recreate (default 2m).
	DeleteTimeout time.Duration
}

// RootID turns a sync root (repo URL, branch, path) into a label value.
func RootID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "r" + hex.EncodeToString(h.Sum(nil))[:20]
}

// Manager applies, prunes and repairs the objects of one sync root. Its view of the cluster comes
// from watches filtered to its own objects, so deciding that nothing changed costs no request.
//
// The watches hold metadata only (name, labels, annotations, generation, resourceVersion): every
// decision but drift is made on the applied-hash annotation, and a fleet's full objects (pod
// templates, volume claim templates) were the largest part of the process's memory. Drift, the
// one decision that needs the spec, GETs the one object whose metadata says it may have changed.
type Manager struct {
	dyn  dynamic.Interface
	meta metadata.Interface // metadata watches and lists
	opts Options

	factory   metadatainformer.SharedInformerFactory
	informers map[schema.GroupVersionKind]cache.SharedIndexInformer
	// watchCtx lives as long as the watches; drift checks GET with it.
	watchCtx context.Context
	// unwatched are the optional kinds this identity may not list (Start), with the API server's
	// refusal; objects of these kinds are refused with it instead of applied.
	unwatched map[schema.GroupVersionKind]error

	mu      sync.Mutex
	desired map[ObjectRef]*unstructured.Unstructured // last applied, for drift repair
	// written is the resourceVersion of kaito-sync's own last write of each object: the watch
	// event carrying it is not drift, and needs no GET to say so.
	written map[ObjectRef]string
	// applied is what ApplyAll last applied cleanly per workspace key, so an unchanged workspace
	// (same Revision) is not prepared and hashed again on every sync.
	applied    map[string]appliedWorkspace
	namespaces sync.Map // namespaces known to exist

	drift chan ObjectRef
}

// New builds a Manager. Its client has no client-side rate limit: client-go's default (5 QPS,
// burst 10) makes a first sync of a few hundred objects take minutes, and even 200 QPS made a
// first sync of 1,000 workspaces wait on the limiter rather than on the API server. The API
// server's priority and fairness is what protects it, and client-go honours its 429s.
func New(cfg *rest.Config, opts Options) (*Manager, error) {
	if opts.Root == "" {
		return nil, errors.New("apply: Options.Root is required")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if opts.DeleteTimeout <= 0 {
		opts.DeleteTimeout = 2 * time.Minute
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = -1, 0, nil
	cfg.UserAgent = "kaito-sync"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		dyn:       dyn,
		meta:      meta,
		opts:      opts,
		informers: map[schema.GroupVersionKind]cache.SharedIndexInformer{},
		unwatched: map[schema.GroupVersionKind]error{},
		desired:   map[ObjectRef]*unstructured.Unstructured{},
		written:   map[ObjectRef]string{},
		applied:   map[string]appliedWorkspace{},
		drift:     make(chan ObjectRef, 1024),
	}
	return m, nil
}

// Start watches this root's objects of every allowed kind and waits for the first list.
//
// Secrets are optional: only --allow-secrets puts them in Git, and reading every Secret of the
// cluster is the one right a least-privilege deployment should not need (deploy/). When this
// identity may not list them, they are not watched and a Secret to apply fails, naming the
// missing right, instead of the watch retrying a refused list forever.
func (m *Manager) Start(ctx context.Context) error {
	selector := fmt.Sprintf("%s=%s,%s=%s", ownership.LabelManagedBy, ownership.ManagedBy, ownership.LabelSyncRoot, m.opts.Root)
	m.watchCtx = ctx
	m.factory = metadatainformer.NewFilteredSharedInformerFactory(m.meta, 0, "", func(o *metav1.ListOptions) {
		o.LabelSelector = selector
	})
	for gvk, k := range kinds {
		if k.optional {
			_, err := m.dyn.Resource(k.gvr).List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: 1})
			if apierrors.IsForbidden(err) {
				m.unwatched[gvk] = err
				continue
			}
		}
		inf := m.factory.ForResource(k.gvr).Informer()
		// managedFields are often the largest part of an object's metadata and nothing here reads them.
		if err := inf.SetTransform(dropManagedFields); err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(m.driftHandler(gvk)); err != nil {
			return err
		}
		m.informers[gvk] = inf
	}
	named := make(map[string]cache.SharedIndexInformer, len(m.informers))
	for gvk, inf := range m.informers {
		named[kinds[gvk].gvr.Resource] = inf
	}
	// A list or watch RBAC refuses stops the start with the resource named, instead of waiting
	// for a cache that will never fill.
	refused, err := informers.Refusals(named)
	if err != nil {
		return err
	}
	m.factory.Start(ctx.Done())
	if err := informers.WaitSynced(ctx, named, refused); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

func dropManagedFields(obj any) (any, error) {
	if o, ok := obj.(metav1.Object); ok {
		o.SetManagedFields(nil)
	}
	return obj, nil
}

// Drift streams objects that something else changed away from what kaito-sync applied; Repair
// puts them back.
func (m *Manager) Drift() <-chan ObjectRef { return m.drift }

func (m *Manager) live(gvk schema.GroupVersionKind, ns, name string) (*metav1.PartialObjectMetadata, bool) {
	inf, ok := m.informers[gvk]
	if !ok {
		return nil, false
	}
	key := name
	if ns != "" {
		key = ns + "/" + name
	}
	obj, exists, err := inf.GetStore().GetByKey(key)
	if err != nil || !exists {
		return nil, false
	}
	u, ok := obj.(*metav1.PartialObjectMetadata)
	return u, ok
}

// Inventory lists the live objects of this root, by workspace key ("namespace/name").
func (m *Manager) Inventory() map[string][]ObjectRef {
	out := map[string][]ObjectRef{}
	for gvk, inf := range m.informers {
		for _, o := range inf.GetStore().List() {
			u, ok := o.(*metav1.PartialObjectMetadata)
			if !ok {
				continue
			}
			l := u.GetLabels()
			ws := l[ownership.LabelWorkspaceNamespace] + "/" + l[ownership.LabelWorkspace]
			out[ws] = append(out[ws], ObjectRef{Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()})
		}
	}
	for _, refs := range out {
		slices.SortFunc(refs, compareRefs)
	}
	return out
}

func compareRefs(a, b ObjectRef) int {
	return cmp.Or(
		cmp.Compare(rankOf(a.Kind), rankOf(b.Kind)),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}

func rankOf(kindName string) int {
	for gvk, k := range kinds {
		if gvk.Kind == kindName {
			return k.rank
		}
	}
	return 99
}

func gvkOfKind(kindName string) (schema.GroupVersionKind, bool) {
	for gvk := range kinds {
		if gvk.Kind == kindName {
			return gvk, true
		}
	}
	return schema.GroupVersionKind{}, false
}

// Hash is the content hash of an object as kaito-sync would apply it, without its own hash
// annotation and the volatile ones.
//
// It copies only the two maps it changes (the object and its metadata), not the whole object: a
// sync hashes every object of the fleet, and a deep copy of each was a fifth of a no-op resync.
// The bytes hashed are the same as those of a deep copy with the annotations removed, so hashes
// written by earlier versions still match.
func Hash(u *unstructured.Unstructured) string {
	c := maps.Clone(u.Object)
	if md, ok := u.Object["metadata"].(map[string]any); ok {
		md = maps.Clone(md)
		ann := map[string]any{}
		for k, v := range u.GetAnnotations() {
			ann[k] = v
		}
		delete(ann, ownership.AnnotationHash)
		for _, a := range ownership.VolatileAnnotations {
			delete(ann, a)
		}
		if len(ann) == 0 {
			delete(md, "annotations")
		} else {
			md["annotations"] = ann
		}
		c["metadata"] = md
	}
	b, _ := json.Marshal(c) // map keys are sorted: stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
