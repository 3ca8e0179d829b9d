package apply

import (
	"context"
	"errors"
	"testing"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	"github.com/matryer/is"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func meta(root, hash, recreate string, deleting bool) *metav1.ObjectMeta {
	m := &metav1.ObjectMeta{
		Labels:      map[string]string{ownership.LabelManagedBy: ownership.ManagedBy, ownership.LabelSyncRoot: root},
		Annotations: map[string]string{ownership.AnnotationHash: hash, ownership.AnnotationRecreateKey: recreate},
	}
	if root == "" {
		m.Labels = nil
	}
	if deleting {
		now := metav1.Now()
		m.DeletionTimestamp = &now
	}
	return m
}

// The one rule Apply and DryRunDiff share.
func TestDecide(t *testing.T) {
	want := meta("r", "h1", "k1", false)
	for _, tc := range []struct {
		name   string
		live   metav1.Object
		action Action
	}{
		{"none", nil, Created},
		{"same hash", meta("r", "h1", "k1", false), Unchanged},
		{"same hash, being deleted", meta("r", "h1", "k1", true), Configured},
		{"other hash", meta("r", "h0", "k1", false), Configured},
		{"other recreate key", meta("r", "h0", "k0", false), Recreated},
		{"another root's", meta("other", "h1", "k1", false), Failed},
		{"nobody's", meta("", "h1", "k1", false), Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			d := decide(want, tc.live, "r")
			is.Equal(d.Action, tc.action)
			is.Equal(d.Err != nil, tc.action == Failed)
			if d.Err != nil {
				is.True(errors.Is(d.Err, ErrNotOwned))
			}
		})
	}
}

func TestRefusedInPlace(t *testing.T) {
	gk := schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
	immutable := apierrors.NewInvalid(gk, "x", field.ErrorList{field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas' are forbidden; field is immutable")})
	other := apierrors.NewInvalid(gk, "x", field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), -1, "must be greater than or equal to 0")})
	for _, tc := range []struct {
		name   string
		err    error
		exists bool
		want   bool
	}{
		{"immutable field of a live object", immutable, true, true},
		{"immutable but nothing live", immutable, false, false},
		{"another invalid field", other, true, false},
		{"not an API error", errors.New("field is immutable"), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			_, ok := refusedInPlace(tc.err, tc.exists)
			is.Equal(ok, tc.want)
		})
	}
}

// An object the API server refuses keeps the API error in its chain: callers and status can tell
// Invalid from Forbidden from Conflict without reading the text.
func TestApplyFailureKeepsTheAPIError(t *testing.T) {
	is := is.New(t)
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	bad := obj(t, "apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: "+ns+"}\nspec: {ports: [{port: 70000}]}\n")
	cs := m.Apply(context.Background(), Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{bad}})
	is.Equal(cs.Entries[0].Action, Failed)
	var status *apierrors.StatusError
	is.True(errors.As(cs.Entries[0].Err, &status))
	is.True(apierrors.IsInvalid(cs.Entries[0].Err))
	is.Equal(cs.Entries[0].Reason, "Invalid") // apierrors.ReasonForError
}
