package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Workspace is one workspace's rendered objects, applied as a unit.
type Workspace struct {
	Key     string // "namespace/name"
	Objects []*unstructured.Unstructured
}

// ApplyAll applies several workspaces concurrently (Options.Concurrency at a time). One workspace
// failing does not stop the others; the failure is in its entries.
func (m *Manager) ApplyAll(ctx context.Context, wss []Workspace) ChangeSet {
	results := make([]ChangeSet, len(wss))
	sem := make(chan struct{}, m.opts.Concurrency)
	var wg sync.WaitGroup
	for i, ws := range wss {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = m.Apply(ctx, ws)
		}()
	}
	wg.Wait()
	var cs ChangeSet
	for _, r := range results {
		cs.Append(r)
	}
	return cs
}

// Apply applies one workspace's objects in dependency order: referenced objects first, then
// Services, then workloads. It stops at the first failure, since later objects depend on earlier
// ones, and reports the rest as skipped.
func (m *Manager) Apply(ctx context.Context, ws Workspace) ChangeSet {
	var cs ChangeSet
	objs := slices.Clone(ws.Objects)
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return rankOf(a.GetKind()) - rankOf(b.GetKind()) })
	failed := false
	for _, obj := range objs {
		ref := ObjectRef{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
		if failed {
			cs.Add(Change{Object: ref, Workspace: ws.Key, Action: Skipped, Reason: "an earlier object of the workspace failed"})
			continue
		}
		c := m.applyOne(ctx, ws.Key, obj)
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
	ns := in.GetNamespace()
	if k.namespaced && ns == "" {
		return nil, kind{}, fmt.Errorf("no namespace set")
	}
	if err := m.namespaceAllowed(ns); err != nil {
		return nil, kind{}, err
	}
	obj := in.DeepCopy()
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelManagedBy] = ManagedByValue
	labels[LabelSyncRoot] = m.opts.Root
	if wsNS, wsName, ok := strings.Cut(wsKey, "/"); ok {
		labels[LabelWorkspace] = wsName
		labels[LabelWorkspaceNamespace] = wsNS
	}
	obj.SetLabels(labels)
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationHash] = Hash(obj)
	obj.SetAnnotations(ann)
	return obj, k, nil
}

func (m *Manager) namespaceAllowed(ns string) error {
	if ns == "" {
		return nil
	}
	if len(m.opts.Namespaces) > 0 {
		if !slices.Contains(m.opts.Namespaces, ns) {
			return fmt.Errorf("namespace %s is not in --namespaces (%s)", ns, strings.Join(m.opts.Namespaces, ", "))
		}
		return nil
	}
	if slices.Contains(protectedNamespaces, ns) {
		return fmt.Errorf("namespace %s is protected; list it in --namespaces to allow it", ns)
	}
	return nil
}

func (m *Manager) applyOne(ctx context.Context, wsKey string, in *unstructured.Unstructured) Change {
	ref := ObjectRef{Kind: in.GetKind(), Namespace: in.GetNamespace(), Name: in.GetName()}
	change := Change{Object: ref, Workspace: wsKey}
	fail := func(format string, args ...any) Change {
		change.Action = Failed
		change.Err = fmt.Errorf("%s apply failed: %s", ref, fmt.Sprintf(format, args...))
		return change
	}
	obj, k, err := m.prepare(wsKey, in)
	if err != nil {
		return fail("%v", err)
	}
	missingNS, err := m.ensureNamespace(ctx, ref.Namespace)
	if err != nil {
		return fail("namespace: %v", err)
	}
	if missingNS {
		// A dry run creates no namespace, and the API server refuses objects in a missing one. The
		// object is checked in "default" instead: validation and defaulting do not depend on the
		// namespace.
		obj.SetNamespace("default")
		change.Reason = "namespace " + ref.Namespace + " would be created"
	}
	live, exists := m.live(obj.GroupVersionKind(), ref.Namespace, ref.Name)
	if exists && live.GetAnnotations()[AnnotationHash] == obj.GetAnnotations()[AnnotationHash] && live.GetDeletionTimestamp() == nil {
		m.remember(ref, obj)
		change.Action = Unchanged
		return change
	}
	if !exists {
		// Not in this root's cache: either new, or someone else's object with the same name. Taking
		// over another owner's object (a Kaito operator's StatefulSet, another kaito-sync's) would
		// break what is running there, so it is refused.
		other, err := m.dyn.Resource(k.gvr).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) || (err != nil && missingNS):
		case err != nil:
			return fail("%v", err)
		case other.GetLabels()[LabelSyncRoot] != m.opts.Root:
			owner := other.GetLabels()[LabelManagedBy]
			if owner == "" {
				owner = "nothing"
			}
			return fail("an object with this name already exists and is not this kaito-sync's (managed by %s, sync root %q); "+
				"rename the workspace, or delete the object to let kaito-sync create it", owner, other.GetLabels()[LabelSyncRoot])
		default:
			exists, live = true, other // ours; the watch has not delivered it yet
		}
	}
	if exists && live.GetAnnotations()[AnnotationRecreateKey] != obj.GetAnnotations()[AnnotationRecreateKey] {
		change.Reason = "a field that cannot change in place changed"
		return m.recreate(ctx, change, k, obj)
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if m.opts.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = m.dyn.Resource(k.gvr).Namespace(obj.GetNamespace()).Apply(ctx, ref.Name, obj, opts)
	if err != nil && exists && isImmutable(err) {
		change.Reason = "the API server refused an in-place change: " + shortReason(err)
		return m.recreate(ctx, change, k, obj)
	}
	if err != nil {
		return fail("%v", err)
	}
	m.remember(ref, obj)
	change.Action = Configured
	if !exists {
		// The cache may lag a create of our own; a GET would tell, but "created" from an empty
		// cache is right for every object this manager has not seen.
		change.Action = Created
	}
	return change
}

func isImmutable(err error) bool {
	return apierrors.IsInvalid(err) && strings.Contains(err.Error(), "immutable")
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
	if _, err := client.Apply(ctx, ref.Name, obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		change.Action, change.Err = Failed, fmt.Errorf("%s recreate failed: create: %w", ref, err)
		return change
	}
	m.remember(ref, obj)
	change.Action = Recreated
	return change
}

func (m *Manager) remember(ref ObjectRef, obj *unstructured.Unstructured) {
	m.mu.Lock()
	m.desired[ref] = obj
	m.mu.Unlock()
}

func (m *Manager) forget(ref ObjectRef) {
	m.mu.Lock()
	delete(m.desired, ref)
	m.mu.Unlock()
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
	nsClient := m.dyn.Resource(namespacesGVR)
	if _, err := nsClient.Get(ctx, ns, metav1.GetOptions{}); err == nil {
		m.namespaces.Store(ns, true)
		return false, nil
	} else if !apierrors.IsNotFound(err) {
		return false, err
	}
	if m.opts.DryRun {
		return true, nil
	}
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("v1")
	obj.SetKind("Namespace")
	obj.SetName(ns)
	obj.SetLabels(map[string]string{"app.kubernetes.io/created-by": ManagedByValue})
	if _, err := nsClient.Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return false, err
	}
	m.namespaces.Store(ns, true)
	return false, nil
}
