package apply

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ErrNotOwned is why an object is refused when one of its name exists and belongs to someone
// else: taking it over would break what runs there (a Kaito operator's StatefulSet, another
// kaito-sync's workspace).
var ErrNotOwned = errors.New("an object with this name already exists and is not this kaito-sync's")

// decision is what writing one desired object must do.
type decision struct {
	// Action is Created, Unchanged, Configured, Recreated or Failed.
	Action Action
	Reason string
	Err    error // with Failed
}

// decide is the rule Apply and DryRunDiff share, given the live object of the desired one's name
// (nil when there is none) and the sync root that owns objects: someone else's object is refused,
// a changed recreate key means delete and create, an equal hash on an object not being deleted
// means nothing to do, anything else is a server-side apply.
func decide(desired, live metav1.Object, root string) decision {
	switch {
	case live == nil:
		return decision{Action: Created}
	case live.GetLabels()[ownership.LabelSyncRoot] != root:
		owner := live.GetLabels()[ownership.LabelManagedBy]
		if owner == "" {
			owner = "nothing"
		}
		return decision{Action: Failed, Err: fmt.Errorf("%w (managed by %s, sync root %q); rename the workspace, or delete the object to let kaito-sync create it",
			ErrNotOwned, owner, live.GetLabels()[ownership.LabelSyncRoot])}
	case live.GetAnnotations()[ownership.AnnotationRecreateKey] != desired.GetAnnotations()[ownership.AnnotationRecreateKey]:
		return decision{Action: Recreated, Reason: "a field that cannot change in place changed"}
	case live.GetAnnotations()[ownership.AnnotationHash] == desired.GetAnnotations()[ownership.AnnotationHash] && live.GetDeletionTimestamp() == nil:
		return decision{Action: Unchanged}
	}
	return decision{Action: Configured}
}

// refusedInPlace says whether an apply error means the change must be made by delete and create:
// the API server refused to change an immutable field of an object that exists.
func refusedInPlace(err error, exists bool) (reason string, ok bool) {
	if !exists || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "immutable") {
		return "", false
	}
	return shortReason(err), true
}

// checkInDefault moves a dry run's object whose namespace does not exist yet to "default" and says
// so: a dry run creates no namespace, the API server refuses objects in a missing one even in a dry
// run, and validation and defaulting do not depend on the namespace.
func checkInDefault(obj *unstructured.Unstructured) (reason string) {
	ns := obj.GetNamespace()
	obj.SetNamespace("default")
	return "namespace " + ns + " would be created"
}

// byRank is objs in the order they are applied: what others reference, then Services, then
// workloads; the order among equals is kept.
func byRank(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := slices.Clone(objs)
	slices.SortStableFunc(out, func(a, b *unstructured.Unstructured) int { return rankOf(a.GetKind()) - rankOf(b.GetKind()) })
	return out
}
