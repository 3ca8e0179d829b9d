package status

import (
	"testing"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

func TestLiveClusterPodsByWorkspace(t *testing.T) {
	pod := func(ns, name string, labels map[string]any) *unstructured.Unstructured {
		md := map[string]any{"name": name, "namespace": ns}
		if labels != nil {
			md["labels"] = labels
		}
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md}}
	}
	inf := cache.NewSharedIndexInformer(&cache.ListWatch{}, &unstructured.Unstructured{}, 0,
		cache.Indexers{workspaceIndex: podWorkspace})
	for _, p := range []*unstructured.Unstructured{
		pod("a", "w1-0", map[string]any{ownership.LabelWorkspace: "w1", ownership.LabelWorkspaceNamespace: "a"}),
		pod("a", "w1-1", map[string]any{ownership.LabelWorkspace: "w1"}), // an older render, without the namespace label
		pod("a", "w2-0", map[string]any{ownership.LabelWorkspace: "w2", ownership.LabelWorkspaceNamespace: "a"}),
		pod("b", "w1-0", map[string]any{ownership.LabelWorkspace: "w1", ownership.LabelWorkspaceNamespace: "b"}),
		pod("a", "other", map[string]any{"app": "x"}),
		pod("a", "nolabels", nil),
		pod("a", "moved", map[string]any{ownership.LabelWorkspace: "w1", ownership.LabelWorkspaceNamespace: "c"}),
	} {
		if err := inf.GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	c := &liveCluster{informers: map[string]cache.SharedIndexInformer{"Pod": inf}}
	names := func(ns, ws string) []string {
		var out []string
		for _, p := range c.Pods(ns, ws) {
			out = append(out, p.GetNamespace()+"/"+p.GetName())
		}
		return out
	}
	tests := []struct {
		ns, ws string
		want   []string
	}{
		{"a", "w1", []string{"a/w1-0", "a/w1-1"}},
		{"a", "w2", []string{"a/w2-0"}},
		{"b", "w1", []string{"b/w1-0"}},
		{"a", "w3", nil},
	}
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.ws, func(t *testing.T) {
			is := is.New(t)
			got := names(tt.ns, tt.ws)
			if len(got) == 2 && got[0] > got[1] {
				got[0], got[1] = got[1], got[0]
			}
			is.Equal(got, tt.want)
		})
	}
}
