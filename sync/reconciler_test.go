package sync

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// fixedSource serves whatever snapshot the test sets.
type fixedSource struct{ snap source.Snapshot }

func (f *fixedSource) Fetch(context.Context) (source.Snapshot, error) { return f.snap, nil }

func (f *fixedSource) set(commit string, files map[string]string) {
	fsys := fstest.MapFS{}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	f.snap = source.Snapshot{Commit: commit, Tree: fsys}
}

func example(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", "workspaces", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func files(t *testing.T, f *Files) []string {
	t.Helper()
	inv, err := f.Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for ws, refs := range inv {
		for _, r := range refs {
			out = append(out, ws+":"+r.Kind+"/"+r.Name)
		}
	}
	sort.Strings(out)
	return out
}

func TestSyncToFilesAppliesAndPrunesSafely(t *testing.T) {
	ctx := context.Background()
	src := &fixedSource{}
	target := &Files{FS: memfs.New()}
	r := NewReconciler(src, target, presets.Default(), Options{})
	phi := example(t, "inference/phi-3-mini.yaml")
	falcon := example(t, "multi-gpu/qwen-coder-32b-2-gpus.yaml")
	qwen := example(t, "inference/qwen-coder-vllm-config.yaml")
	all := map[string]string{"phi.yaml": phi, "falcon.yaml": falcon, "qwen.yaml": qwen}

	t.Run("first sync creates everything", func(t *testing.T) {
		is := is.New(t)
		src.set("c1", all)
		res, err := r.SyncOnce(ctx)
		is.NoErr(err)
		is.True(!res.Failed())
		is.True(res.Changes.Count(apply.Created) > 0)
		is.Equal(res.Changes.Count(apply.Created), len(res.Changes.Entries))
		got := files(t, target)
		is.True(len(got) >= 7)
		is.True(slicesContains(got, "dev-tools/qwen-coder:ConfigMap/qwen-coder-inference-params")) // the companion goes with its workspace
	})
	t.Run("a new commit that changes nothing writes nothing", func(t *testing.T) {
		is := is.New(t)
		src.set("c2", all)
		res, err := r.SyncOnce(ctx)
		is.NoErr(err)
		is.Equal(res.Changes.Count(apply.Unchanged), len(res.Changes.Entries))
	})
	t.Run("a broken file prunes nothing and names its line", func(t *testing.T) {
		is := is.New(t)
		src.set("c3", map[string]string{"phi.yaml": phi, "falcon.yaml": "apiVersion: kaito.sh/v1alpha1\nkind: [\n", "qwen.yaml": qwen})
		before := files(t, target)
		res, err := r.SyncOnce(ctx)
		is.NoErr(err)
		is.True(res.Failed())
		is.True(strings.Contains(res.PruneBlocked, "falcon.yaml"))
		is.Equal(res.PruneKept, []string{"default/qwen-coder-32b"}) // falcon.yaml's: the status keeps showing it
		is.Equal(files(t, target), before)                          // nothing removed
		p := res.Set.Problems[0]
		is.Equal(p.Path, "falcon.yaml")
		is.Equal(p.Line, 2)
	})
	t.Run("an invalid workspace keeps what it has", func(t *testing.T) {
		is := is.New(t)
		src.set("c4", map[string]string{"phi.yaml": phi, "falcon.yaml": strings.Replace(falcon, "Standard_NC48ads_A100_v4", "Standard_NC6s_v3", 1), "qwen.yaml": qwen})
		before := files(t, target)
		res, err := r.SyncOnce(ctx)
		is.NoErr(err)
		is.True(res.Failed())
		is.Equal(res.PruneBlocked, "")
		is.Equal(files(t, target), before)
	})
	t.Run("removing one workspace of three prunes it", func(t *testing.T) {
		is := is.New(t)
		src.set("c5", map[string]string{"phi.yaml": phi, "qwen.yaml": qwen})
		res, err := r.SyncOnce(ctx)
		is.NoErr(err)
		is.True(!res.Failed())
		is.True(res.Changes.Count(apply.Deleted) > 0)
		for _, f := range files(t, target) {
			is.True(!strings.Contains(f, "falcon")) // its files are gone
		}
	})
	t.Run("removing all workspaces is refused without --allow-mass-prune", func(t *testing.T) {
		is := is.New(t)
		src.set("c6", map[string]string{})
		before := files(t, target)
		res, err := r.SyncOnce(ctx)
		is.NoErr(err)
		is.True(strings.Contains(res.PruneBlocked, "--allow-mass-prune"))
		is.Equal(len(res.PruneKept), 2) // both left running, for the status to show
		is.Equal(files(t, target), before)

		r.opts.AllowMassPrune = true
		res, err = r.SyncOnce(ctx)
		is.NoErr(err)
		is.Equal(res.PruneBlocked, "")
		is.Equal(len(files(t, target)), 0)
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
