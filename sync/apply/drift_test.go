package apply

import (
	"testing"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

func TestSpecFingerprintIgnoresStatus(t *testing.T) {
	is := is.New(t)
	a := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"x": int64(1)}, "status": map[string]any{"r": int64(1)},
		"metadata": map[string]any{"resourceVersion": "1"}}}
	b := a.DeepCopy()
	b.Object["status"] = map[string]any{"r": int64(2)}
	b.Object["metadata"].(map[string]any)["resourceVersion"] = "2"
	is.Equal(specFingerprint(a), specFingerprint(b))
	b.Object["spec"] = map[string]any{"x": int64(2)}
	is.True(specFingerprint(a) != specFingerprint(b))
}

func TestRootIDIsALabelValue(t *testing.T) {
	is := is.New(t)
	id := RootID("https://example.com/repo.git", "main", "workspaces")
	is.Equal(len(id), 21)
	is.Equal(id, RootID("https://example.com/repo.git", "main", "workspaces"))
	is.True(id != RootID("https://example.com/repo.git", "main", "other"))
}
