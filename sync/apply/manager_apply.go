package apply

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// Workspace is one workspace's rendered objects, applied as a unit.
type Workspace struct {
	Key     string // "namespace/name"
	Objects []*unstructured.Unstructured
	// Revision identifies Objects: two Workspaces with the same Key and a non-empty Revision hold
	// the same objects (the reconciler uses the render hash and the source path). ApplyAll skips
	// preparing and hashing the objects of a workspace whose Revision it applied last and whose
	// live objects still carry the hashes it applied. Empty means unknown: always prepared.
	Revision string
}

// ApplyAll applies several workspaces, Options.Concurrency objects at a time. It goes in waves,
// one per rank (what others reference, then Services, then workloads), across all workspaces:
// the order within each workspace is that of Apply, and a workspace whose object failed has its
// later ranks skipped, but no workspace waits on its own previous object's round trip, so the API
// server always has Concurrency requests to work on. One workspace failing does not stop the
// others; the failure is in its entries.
func (m *Manager) ApplyAll(ctx context.Context, all []Workspace) ChangeSet {
	results := make([]ChangeSet, len(all))
	var wss []Workspace
	var at []int // index in all of each workspace of wss
	for i, ws := range all {
		if m.unchanged(ws) {
			results[i] = m.unchangedChanges(ws)
			continue
		}
		wss = append(wss, ws)
		at = append(at, i)
	}
	for i, cs := range m.applyWaves(ctx, wss) {
		results[at[i]] = cs
		m.recordApplied(wss[i], cs)
	}
	var cs ChangeSet
	for _, r := range results {
		cs.Append(r)
	}
	return cs
}

// applyWaves applies workspaces rank by rank (ApplyAll) and returns each one's changes.
func (m *Manager) applyWaves(ctx context.Context, wss []Workspace) []ChangeSet {
	known := m.prefetch(ctx, wss)
	type item struct{ ws, obj int }
	sorted := make([][]*unstructured.Unstructured, len(wss))
	var ranks []int
	for i, ws := range wss {
		objs := byRank(ws.Objects)
		sorted[i] = objs
		for _, o := range objs {
			if r := rankOf(o.GetKind()); !slices.Contains(ranks, r) {
				ranks = append(ranks, r)
			}
		}
	}
	slices.Sort(ranks)
	results := make([]ChangeSet, len(wss))
	failed := make([]bool, len(wss))
	next := make([]int, len(wss))
	for _, rank := range ranks {
		var wave []item
		for i := range wss {
			for next[i] < len(sorted[i]) && rankOf(sorted[i][next[i]].GetKind()) == rank {
				wave = append(wave, item{i, next[i]})
				next[i]++
			}
		}
		changes := make([]Change, len(wave))
		m.parallel(ctx, len(wave), func(run func(func())) {
			for j, it := range wave {
				obj, key := sorted[it.ws][it.obj], wss[it.ws].Key
				if failed[it.ws] {
					changes[j] = Change{Object: RefOf(obj),
						Workspace: key, Action: Skipped, Reason: "an earlier object of the workspace failed"}
					continue
				}
				run(func() { changes[j] = m.applyOne(ctx, key, obj, known) })
			}
		})
		for j, it := range wave {
			c := changes[j]
			if c.Action == "" { // ctx ended before it ran
				obj := sorted[it.ws][it.obj]
				c = Change{Object: RefOf(obj),
					Workspace: wss[it.ws].Key, Action: Failed, Err: fmt.Errorf("%s/%s apply failed: %w", obj.GetKind(), obj.GetName(), context.Cause(ctx))}
			}
			results[it.ws].Add(c)
			failed[it.ws] = failed[it.ws] || c.Action == Failed
		}
	}
	return results
}

// Apply applies one workspace's objects in dependency order: referenced objects first, then
// Services, then workloads. It stops at the first failure, since later objects depend on earlier
// ones, and reports the rest as skipped.
func (m *Manager) Apply(ctx context.Context, ws Workspace) ChangeSet {
	return m.apply(ctx, ws, nil)
}

func (m *Manager) apply(ctx context.Context, ws Workspace, known *others) ChangeSet {
	var cs ChangeSet
	failed := false
	for _, obj := range byRank(ws.Objects) {
		ref := RefOf(obj)
		if failed {
			cs.Add(Change{Object: ref, Workspace: ws.Key, Action: Skipped, Reason: "an earlier object of the workspace failed"})
			continue
		}
		c := m.applyOne(ctx, ws.Key, obj, known)
		cs.Add(c)
		failed = c.Action == Failed
	}
	return cs
}

// prepare checks an object may be applied and adds the ownership labels and hash.
func (m *Manager) prepare(wsKey string, in *unstructured.Unstructured) (*unstructured.Unstructured, kind, error) {
	k, err := kindOf(in.GroupVersionKind())
	if err != nil {
		return nil, kind{}, err
	}
	if err := m.unwatched[in.GroupVersionKind()]; err != nil {
		return nil, kind{}, fmt.Errorf("kaito-sync may not read %s, so it does not manage them (%v); grant get, list, watch, create, patch and delete on %s to apply them",
			k.gvr.Resource, err, k.gvr.Resource)
	}
	ns := in.GetNamespace()
	if k.namespaced && ns == "" {
		return nil, kind{}, fmt.Errorf("no namespace set")
	}
	if err := m.namespaceAllowed(ns); err != nil {
		return nil, kind{}, err
	}
	// A copy of the two maps changed below, not of the whole object: the spec is shared with the
	// rendered object, which nothing writes to once rendered (the reconciler hands the same
	// objects to every sync of an unchanged workspace), and a deep copy of a fleet doubled the
	// memory its desired state takes.
	obj := &unstructured.Unstructured{Object: maps.Clone(in.Object)}
	if md, ok := in.Object["metadata"].(map[string]any); ok {
		obj.Object["metadata"] = maps.Clone(md)
	}
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ownership.LabelManagedBy] = ownership.ManagedBy
	labels[ownership.LabelSyncRoot] = m.opts.Root
	if wsNS, wsName, ok := strings.Cut(wsKey, "/"); ok {
		labels[ownership.LabelWorkspace] = wsName
		labels[ownership.LabelWorkspaceNamespace] = wsNS
	}
	obj.SetLabels(labels)
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[ownership.AnnotationHash] = Hash(obj)
	obj.SetAnnotations(ann)
	return obj, k, nil
}

// namespaceAllowed is the last line of the namespace rule: the reconciler never hands over a
// workspace the rule refuses, but objects reach Apply by other paths too (plan --live, tests).
func (m *Manager) namespaceAllowed(ns string) error {
	return workspaces.NamespacePolicy{Allowed: m.opts.Namespaces}.Check(ns)
}

func (m *Manager) applyOne(ctx context.Context, wsKey string, in *unstructured.Unstructured, known *others) Change {
	ref := RefOf(in)
	change := Change{Object: ref, Workspace: wsKey}
	fail := func(err error) Change {
		change.Action, change.Err = Failed, fmt.Errorf("%s apply failed: %w", ref, err)
		// The API server's reason (Invalid, Forbidden, Conflict...) for logs and statuses to
		// tell failures apart without reading the message.
		if reason := apierrors.ReasonForError(err); reason != metav1.StatusReasonUnknown {
			change.Reason = string(reason)
		}
		return change
	}
	obj, k, err := m.prepare(wsKey, in)
	if err != nil {
		return fail(err)
	}
	missingNS, err := m.ensureNamespace(ctx, ref.Namespace)
	if err != nil {
		return fail(fmt.Errorf("namespace: %w", err))
	}
	if missingNS {
		change.Reason = checkInDefault(obj)
	}
	// The cache holds this root's objects only; one missing from it is either new, or someone
	// else's of the same name, which decide refuses.
	var live metav1.Object
	if cached, ok := m.live(obj.GroupVersionKind(), ref.Namespace, ref.Name); ok {
		live = cached
	} else if !missingNS {
		other, err := m.existing(ctx, k, ref, known)
		switch {
		case err == nil:
			live = other
		case !apierrors.IsNotFound(err):
			return fail(err)
		}
	}
	d := decide(obj, live, m.opts.Root)
	switch d.Action {
	case Failed:
		return fail(d.Err)
	case Unchanged:
		m.remember(ref, obj)
		change.Action = Unchanged
		return change
	case Recreated:
		change.Reason = d.Reason
		return m.recreate(ctx, change, k, obj)
	}
	opts := metav1.ApplyOptions{FieldManager: ownership.FieldManager, Force: true}
	if m.opts.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	// The desired state is remembered before the write: the watch can deliver the write's event
	// before Apply returns, and judged against the previous desired state it reads as drift, which
	// Repair would then revert. A failed write puts the previous one back.
	prev := m.remember(ref, obj)
	rv, err := m.serverSideApply(ctx, k, obj, opts)
	if err != nil {
		m.restore(ref, prev)
		if reason, ok := refusedInPlace(err, live != nil); ok {
			change.Reason = "the API server refused an in-place change: " + reason
			return m.recreate(ctx, change, k, obj)
		}
		return fail(err)
	}
	if !m.opts.DryRun {
		m.wrote(ref, rv)
	}
	// Created when the cache had not seen it: the cache may lag a create of our own, and a GET
	// would tell, but "created" is right for every object this manager has not seen.
	change.Action = d.Action
	return change
}

// RefOf names an object as changes and inventories do.
func RefOf(o *unstructured.Unstructured) ObjectRef {
	return ObjectRef{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}
}

// existing is a GET of ref, unless prefetch already learnt the answer.
func (m *Manager) existing(ctx context.Context, k kind, ref ObjectRef, known *others) (*unstructured.Unstructured, error) {
	if u, ok := known.lookup(ref); ok {
		if u == nil {
			return nil, apierrors.NewNotFound(k.gvr.GroupResource(), ref.Name)
		}
		return u, nil
	}
	return m.dyn.Resource(k.gvr).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
}

func shortReason(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// recreate deletes the live object, waits until it is gone, and creates the desired one.
func (m *Manager) recreate(ctx context.Context, change Change, k kind, obj *unstructured.Unstructured) Change {
	ref := change.Object
	if m.opts.DryRun {
		change.Action = Recreated
		return change
	}
	client := m.dyn.Resource(k.gvr).Namespace(ref.Namespace)
	m.forget(ref) // the delete below is ours, not drift
	policy := metav1.DeletePropagationBackground
	err := client.Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		change.Action, change.Err = Failed, fmt.Errorf("%s recreate failed: delete: %w", ref, err)
		return change
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, m.opts.DeleteTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := client.Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		change.Action, change.Err = Failed, fmt.Errorf("%s recreate failed: still deleting after %s", ref, m.opts.DeleteTimeout)
		return change
	}
	m.remember(ref, obj)
	rv, err := m.serverSideApply(ctx, k, obj, metav1.ApplyOptions{FieldManager: ownership.FieldManager, Force: true})
	if err != nil {
		m.forget(ref)
		change.Action, change.Err = Failed, fmt.Errorf("%s recreate failed: create: %w", ref, err)
		return change
	}
	m.wrote(ref, rv)
	change.Action = Recreated
	return change
}

// remember records obj as ref's desired state and returns the previous one.
func (m *Manager) remember(ref ObjectRef, obj *unstructured.Unstructured) *unstructured.Unstructured {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.desired[ref]
	m.desired[ref] = obj
	return prev
}

// restore puts back what remember replaced.
func (m *Manager) restore(ref ObjectRef, prev *unstructured.Unstructured) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev == nil {
		delete(m.desired, ref)
	} else {
		m.desired[ref] = prev
	}
}

func (m *Manager) forget(ref ObjectRef) {
	m.mu.Lock()
	delete(m.desired, ref)
	delete(m.written, ref)
	m.mu.Unlock()
}

// wrote records the resourceVersion kaito-sync's write of ref left, so its watch event is known
// as its own.
func (m *Manager) wrote(ref ObjectRef, resourceVersion string) {
	m.mu.Lock()
	m.written[ref] = resourceVersion
	m.mu.Unlock()
}

// serverSideApply sends obj as a server-side apply and returns the resourceVersion it left.
//
// It goes through the metadata client, which asks for the answer as metadata only (protobuf): the
// dynamic client's Apply decodes the whole object the API server sends back, and for a fleet's
// first sync that decoding was a sixth of all the memory allocated, for a resourceVersion.
func (m *Manager) serverSideApply(ctx context.Context, k kind, obj *unstructured.Unstructured, opts metav1.ApplyOptions) (string, error) {
	data, err := obj.MarshalJSON()
	if err != nil {
		return "", err
	}
	res, err := m.meta.Resource(k.gvr).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts.ToPatchOptions())
	if err != nil {
		return "", err
	}
	return res.ResourceVersion, nil
}

// ensureNamespace creates a missing namespace. kaito-sync never deletes namespaces: they may hold
// what it does not own.
//
// It reports a namespace that is missing and, in a dry run, stays missing.
func (m *Manager) ensureNamespace(ctx context.Context, ns string) (missing bool, err error) {
	if ns == "" {
		return false, nil
	}
	if _, ok := m.namespaces.Load(ns); ok {
		return false, nil
	}
	if !m.opts.DryRun {
		_, err := m.ensureNamespaceCreated(ctx, ns)
		return false, err
	}
	return m.namespaceMissing(ctx, ns)
}

// namespaceMissing reports, reading only, whether ns does not exist.
func (m *Manager) namespaceMissing(ctx context.Context, ns string) (bool, error) {
	if ns == "" {
		return false, nil
	}
	if _, ok := m.namespaces.Load(ns); ok {
		return false, nil
	}
	if _, err := m.dyn.Resource(namespacesGVR).Get(ctx, ns, metav1.GetOptions{}); err == nil {
		m.namespaces.Store(ns, true)
		return false, nil
	} else if !apierrors.IsNotFound(err) {
		return false, err
	}
	return true, nil
}
