package apply

import (
	"context"
	"fmt"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// LiveAction is what applying an object would do to the live cluster.
type LiveAction string

const (
	LiveCreate   LiveAction = "would-create"
	LiveDrifted  LiveAction = "drifted"
	LiveInSync   LiveAction = "in-sync"
	LiveRecreate LiveAction = "would-recreate"
	LiveError    LiveAction = "error"
)

// LiveDiff compares one desired object with the live cluster.
type LiveDiff struct {
	Object    ObjectRef
	Workspace string
	Action    LiveAction
	// Want is the server-side dry-run result cut to the fields kaito-sync sets; Have is the live
	// object cut to the same fields (nil when it does not exist). Both are set unless Err is.
	Want, Have *unstructured.Unstructured
	// Reason explains a recreate or a dry run checked in another namespace.
	Reason string
	// Err is what the API server (or kaito-sync's own checks) refused.
	Err error
}

// DryRunDiff compares a workspace's objects with the live cluster without changing it: each
// object is prepared as Apply would, sent as a forced server-side apply with DryRun=All (so the
// API server validates and defaults it), and its result is compared with the live object on the
// fields kaito-sync sets. It needs no Start: it reads the cluster directly.
func (m *Manager) DryRunDiff(ctx context.Context, ws Workspace) []LiveDiff {
	objs := byRank(ws.Objects)
	out := make([]LiveDiff, 0, len(objs))
	for _, o := range objs {
		out = append(out, m.dryRunOne(ctx, ws.Key, o))
	}
	return out
}

func (m *Manager) dryRunOne(ctx context.Context, wsKey string, in *unstructured.Unstructured) LiveDiff {
	ref := RefOf(in)
	d := LiveDiff{Object: ref, Workspace: wsKey}
	fail := func(err error) LiveDiff {
		d.Action, d.Err = LiveError, err
		return d
	}
	obj, k, err := m.prepare(wsKey, in)
	if err != nil {
		return fail(err)
	}
	missingNS, err := m.namespaceMissing(ctx, ref.Namespace)
	if err != nil {
		return fail(fmt.Errorf("namespace: %w", err))
	}
	if missingNS {
		d.Reason = checkInDefault(obj)
	}
	var live *unstructured.Unstructured
	if !missingNS {
		live, err = m.dyn.Resource(k.gvr).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			live = nil
		case err != nil:
			return fail(err)
		}
	}
	root := m.opts.Root
	if live != nil {
		switch liveRoot := live.GetLabels()[ownership.LabelSyncRoot]; {
		case live.GetLabels()[ownership.LabelManagedBy] != ownership.ManagedBy:
			// Judged as the cluster's kaito-sync would judge it, whatever root this plan was given.
		case liveRoot != "" && liveRoot != root:
			// The sync root is only a label here, and the caller may not know the one the cluster's
			// kaito-sync uses: compare as that root, so its label and the hash do not show as drift.
			labels := obj.GetLabels()
			labels[ownership.LabelSyncRoot] = liveRoot
			obj.SetLabels(labels)
			ann := obj.GetAnnotations()
			ann[ownership.AnnotationHash] = Hash(obj)
			obj.SetAnnotations(ann)
			d.Reason = fmt.Sprintf("compared as sync root %s, the live object's (not %s)", liveRoot, root)
			root = liveRoot
		default:
			root = liveRoot
		}
	}
	var liveMeta metav1.Object
	if live != nil {
		liveMeta = live
	}
	switch decided := decide(obj, liveMeta, root); decided.Action {
	case Failed:
		return fail(fmt.Errorf("%w; a sync would refuse it", decided.Err))
	case Recreated:
		d.Action, d.Reason = LiveRecreate, decided.Reason
		d.Want, d.Have = project(obj.Object, obj.Object), project(obj.Object, live.Object)
		return d
	}
	// Unchanged by its hash is still sent: a hand edit that left the annotations alone is drift.
	opts := metav1.ApplyOptions{FieldManager: ownership.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}
	res, err := m.dyn.Resource(k.gvr).Namespace(obj.GetNamespace()).Apply(ctx, ref.Name, obj, opts)
	if reason, ok := refusedInPlace(err, live != nil); ok {
		d.Action, d.Reason = LiveRecreate, "the API server refuses an in-place change: "+reason
		d.Want, d.Have = project(obj.Object, obj.Object), project(obj.Object, live.Object)
		return d
	}
	if err != nil {
		return fail(err)
	}
	want := project(obj.Object, res.Object)
	if missingNS {
		want.SetNamespace(ref.Namespace)
	}
	d.Want = want
	if live == nil {
		d.Action = LiveCreate
		return d
	}
	d.Have = project(obj.Object, live.Object)
	d.Action = LiveInSync
	if drifted(want, live) {
		d.Action = LiveDrifted
	}
	return d
}

// project cuts have to the fields present in want: maps keep want's keys that have holds, lists
// are matched item by item (as subset does). Metadata keeps name, namespace, labels and
// annotations only, and of those the keys want sets.
func project(want, have map[string]any) *unstructured.Unstructured {
	out := map[string]any{}
	for k, wv := range want {
		hv, ok := have[k]
		if !ok || k == "status" {
			continue
		}
		if k == "metadata" {
			out[k] = projectMetadata(wv, hv)
			continue
		}
		out[k] = projectValue(wv, hv)
	}
	return &unstructured.Unstructured{Object: out}
}

func projectMetadata(want, have any) map[string]any {
	w, _ := want.(map[string]any)
	h, _ := have.(map[string]any)
	out := map[string]any{}
	for _, k := range []string{"name", "namespace", "labels", "annotations"} {
		wv, ok1 := w[k]
		hv, ok2 := h[k]
		if ok1 && ok2 {
			out[k] = projectValue(wv, hv)
		}
	}
	return out
}

func projectValue(want, have any) any {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return have
		}
		out := map[string]any{}
		for k, wv := range w {
			if hv, ok := h[k]; ok {
				out[k] = projectValue(wv, hv)
			}
		}
		return out
	case []any:
		h, ok := have.([]any)
		if !ok {
			return have
		}
		out := make([]any, 0, min(len(w), len(h)))
		for i := range min(len(w), len(h)) {
			out = append(out, projectValue(w[i], h[i]))
		}
		return out
	}
	return have
}
