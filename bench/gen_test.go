package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// writeFleet writes files under a new folder and returns it.
func writeFleet(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The generator makes valid, mixed fleets that render, and the same fleet every time. Runs in CI
// (no control plane), so the harness cannot rot.
func TestGenerate(t *testing.T) {
	is := is.New(t)
	files, wss := Generate(Options{N: 40})
	is.Equal(len(files), 40)
	again, _ := Generate(Options{N: 40})
	is.Equal(files, again)
	variantsSeen, nss := map[string]bool{}, map[string]bool{}
	for _, w := range wss {
		variantsSeen[w.Variant], nss[w.Namespace] = true, true
	}
	is.Equal(len(variantsSeen), len(variants)) // every kind of workspace in 40
	is.Equal(len(nss), 7)

	objs, err := RenderFleet(files, "c0ffee")
	is.NoErr(err) // valid: RenderFleet fails on any problem
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
	}
	for _, k := range []string{"StatefulSet", "Service", "Job", "ConfigMap", "PersistentVolumeClaim"} {
		is.True(kinds[k] > 0) // each kind rendered
	}
}

// A small fleet syncs into a folder, and a second sync changes nothing: the path the benchmarks
// drive against a cluster, without one.
func TestSyncSmallFleet(t *testing.T) {
	is := is.New(t)
	files, wss := Generate(Options{N: 10})
	dir := writeFleet(t, files)
	rec := ksync.NewReconciler(source.Local{Dir: dir, Path: "workspaces"}, &ksync.Files{FS: memfs.New()}, presets.Default(), ksync.Options{})
	res, err := rec.SyncOnce(context.Background())
	is.NoErr(err)
	is.True(!res.Failed())
	objs, err := RenderFleet(files, "c0ffee")
	is.NoErr(err)
	is.True(len(objs) >= 3*10) // each inference workspace: Service, headless Service, StatefulSet
	namespaces := map[string]bool{}
	for _, w := range wss {
		if w.Namespace != "default" {
			namespaces[w.Namespace] = true
		}
	}
	is.Equal(res.Changes.Count(apply.Created), len(objs)+len(namespaces)) // every object of the fleet once, and each namespace
	res, err = rec.SyncOnce(context.Background())
	is.NoErr(err)
	is.Equal(res.Changes.Count(apply.Created), 0)
	is.Equal(res.Changes.Count(apply.Unchanged), len(res.Changes.Entries))
}
