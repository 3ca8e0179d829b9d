package sync

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/memfs"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// BenchmarkFirstSync100 is a first sync of 100 workspaces into a folder target: load, check and a
// cold render of each (no cluster). Compare -cpu 1,2 to see the parallel render pay off.
func BenchmarkFirstSync100(b *testing.B) {
	phi := strings.Replace(example(b, "inference/phi-3-mini.yaml"), "name: workspace-phi-3-mini", "name: ws-NUM", 1)
	files := map[string]string{}
	for i := range 100 {
		files[fmt.Sprintf("ws-%03d.yaml", i)] = strings.Replace(phi, "NUM", fmt.Sprintf("%03d", i), 1)
	}
	src := &fixedSource{}
	src.set("c1", files)
	b.ResetTimer()
	for b.Loop() {
		r := NewReconciler(src, &Files{FS: memfs.New()}, presets.Default(), Options{})
		res, err := r.SyncOnce(context.Background())
		if err != nil || res.Failed() {
			b.Fatal(err, res.Set.Problems)
		}
	}
}

// discardTarget takes every apply and holds nothing: the benchmark below times the reconciler.
type discardTarget struct{}

func (discardTarget) Begin(context.Context, source.Snapshot) error { return nil }
func (discardTarget) Inventory(context.Context) (map[string][]apply.ObjectRef, error) {
	return nil, nil
}
func (discardTarget) Apply(context.Context, []apply.Workspace) apply.ChangeSet {
	return apply.ChangeSet{}
}
func (discardTarget) Delete(context.Context, string, []apply.ObjectRef) apply.ChangeSet {
	return apply.ChangeSet{}
}
func (discardTarget) Finish(context.Context, source.Snapshot) error { return nil }

// BenchmarkPushSync1000 is a sync after a push that changed one workspace of 1,000, without the
// target's cost: load, check and render (the other 999 load from the cache and keep their objects).
func BenchmarkPushSync1000(b *testing.B) {
	phi := strings.Replace(example(b, "inference/phi-3-mini.yaml"), "name: workspace-phi-3-mini", "name: ws-NUM", 1)
	files := map[string]string{}
	for i := range 1000 {
		files[fmt.Sprintf("ws-%04d.yaml", i)] = strings.Replace(phi, "NUM", fmt.Sprintf("%04d", i), 1)
	}
	src := &fixedSource{}
	src.set("c0", files)
	r := NewReconciler(src, discardTarget{}, presets.Default(), Options{})
	if _, err := r.SyncOnce(context.Background()); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		files["ws-0007.yaml"] = strings.Replace(strings.Replace(phi, "NUM", "0007", 1), "apps: phi-3", fmt.Sprintf("apps: phi-3-%d", i), 1)
		src.set(fmt.Sprintf("c%d", i), files)
		res, err := r.SyncOnce(context.Background())
		if err != nil || res.Failed() || res.Rendered != 1 {
			b.Fatal(err, res.Rendered)
		}
	}
}
