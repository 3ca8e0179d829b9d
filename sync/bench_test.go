package sync

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/memfs"

	"github.com/kaito-sync/kaito-sync/presets"
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
