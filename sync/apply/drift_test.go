package apply

import (
	"testing"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	"github.com/matryer/is"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestDrifted(t *testing.T) {
	want := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "s", "labels": map[string]any{"a": "1"}},
		"spec":     map[string]any{"ports": []any{map[string]any{"port": int64(80), "targetPort": int64(5000)}}},
	}}
	live := func(mut func(m map[string]any)) *unstructured.Unstructured {
		u := want.DeepCopy()
		u.Object["metadata"].(map[string]any)["resourceVersion"] = "7"
		spec := u.Object["spec"].(map[string]any)
		spec["clusterIP"] = "10.96.0.10" // a server default
		spec["ports"].([]any)[0].(map[string]any)["protocol"] = "TCP"
		u.Object["status"] = map[string]any{"loadBalancer": map[string]any{}}
		if mut != nil {
			mut(u.Object)
		}
		return u
	}
	tests := []struct {
		name    string
		live    *unstructured.Unstructured
		drifted bool
	}{
		{"server defaults and status are not drift", live(nil), false},
		{"float vs int of the same value is not drift", live(func(o map[string]any) {
			o["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["port"] = float64(80)
		}), false},
		{"changed owned field", live(func(o map[string]any) {
			o["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["targetPort"] = int64(8080)
		}), true},
		{"removed list item", live(func(o map[string]any) { o["spec"].(map[string]any)["ports"] = []any{} }), true},
		{"removed label", live(func(o map[string]any) { o["metadata"].(map[string]any)["labels"] = map[string]any{} }), true},
		{"extra label is someone else's", live(func(o map[string]any) {
			o["metadata"].(map[string]any)["labels"] = map[string]any{"a": "1", "b": "2"}
		}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(drifted(want, tt.live), tt.drifted)
		})
	}
}

func TestMayHaveDrifted(t *testing.T) {
	sts := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}
	cm := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	meta := func(rv string, gen int64, mut func(*metav1.PartialObjectMetadata)) *metav1.PartialObjectMetadata {
		m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "ns", ResourceVersion: rv, Generation: gen,
			Labels: map[string]string{"a": "1"}, Annotations: map[string]string{ownership.AnnotationHash: "h"}}}
		if mut != nil {
			mut(m)
		}
		return m
	}
	now := metav1.Now()
	tests := []struct {
		name     string
		gvk      schema.GroupVersionKind
		old, new *metav1.PartialObjectMetadata
		own      string
		want     bool
	}{
		{"workload status update: same generation", sts, meta("1", 2, nil), meta("2", 2, nil), "", false},
		{"workload spec update: generation moved", sts, meta("1", 2, nil), meta("2", 3, nil), "", true},
		{"kaito-sync's own write", sts, meta("1", 2, nil), meta("2", 3, nil), "2", false},
		{"an older own write does not hide a later edit", sts, meta("2", 3, nil), meta("3", 4, nil), "2", true},
		{"label removed", sts, meta("1", 2, nil), meta("2", 2, func(m *metav1.PartialObjectMetadata) { m.Labels = nil }), "", true},
		{"annotation edited", sts, meta("1", 2, nil), meta("2", 2, func(m *metav1.PartialObjectMetadata) { m.Annotations[ownership.AnnotationHash] = "x" }), "", true},
		{"being deleted", sts, meta("1", 2, nil), meta("2", 2, func(m *metav1.PartialObjectMetadata) { m.DeletionTimestamp = &now }), "", true},
		{"kind without generation: any update of someone else's", cm, meta("1", 0, nil), meta("2", 0, nil), "", true},
		{"kind without generation: own write", cm, meta("1", 0, nil), meta("2", 0, nil), "2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(mayHaveDrifted(tt.gvk, tt.old, tt.new, tt.own), tt.want)
		})
	}
}

func TestRootIDIsALabelValue(t *testing.T) {
	is := is.New(t)
	id := RootID("https://example.com/repo.git", "main", "workspaces")
	is.Equal(len(id), 21)
	is.Equal(id, RootID("https://example.com/repo.git", "main", "workspaces"))
	is.True(id != RootID("https://example.com/repo.git", "main", "other"))
}
