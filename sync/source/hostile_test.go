package source

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// hostileTree writes a workspace folder whose links lead out of it (and one that stays inside),
// beside a secret they point at. It returns the repository folder.
func hostileTree(t *testing.T) (repo string) {
	t.Helper()
	base := t.TempDir()
	repo, outside := filepath.Join(base, "repo"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(repo, "ws"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(repo, "ws", "a.yaml"):        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		filepath.Join(outside, "secret.yaml"):      "token: do-not-read-me\n",
		filepath.Join(outside, "nested", "w.yaml"): "token: do-not-read-me\n",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"ws/up.yaml":     "../../outside/secret.yaml",           // climbs out
		"ws/abs.yaml":    filepath.Join(outside, "secret.yaml"), // absolute
		"ws/team":        "../../outside/nested",                // a folder outside
		"ws/inside.yaml": "a.yaml",                              // stays inside, still not followed
		"escape":         filepath.Join(outside),                // a --path that leaves the repository
		"ws/notes.md":    "../../outside/secret.yaml",           // not YAML: ignored like any other file
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(repo, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// checkLinksRefused loads snap's tree and checks every link that could stand for workspaces is an
// error naming it and its target, the set is incomplete, and nothing behind a link was read.
func checkLinksRefused(t *testing.T, tree fs.FS, prefix string) {
	t.Helper()
	is := is.New(t)
	set, err := workspaces.Load(tree, ".", workspaces.Options{PathPrefix: prefix})
	is.NoErr(err)
	is.Equal(len(set.Companions), 1) // a.yaml still loads
	is.Equal(set.Files, 1)
	want := map[string]bool{prefix + "/up.yaml": true, prefix + "/abs.yaml": true, prefix + "/team": true, prefix + "/inside.yaml": true}
	is.Equal(len(set.Broken), len(want)) // nothing is pruned while they are there
	for _, p := range set.Problems {
		t.Log(p)
		is.True(want[p.Path])                                 // a problem names each link
		is.True(strings.Contains(p.Message, "symbolic link")) // and says what it is
		is.True(!strings.Contains(p.Message, "do-not-read-me"))
	}
	is.Equal(len(set.Problems), len(want))
}

func TestLocalNeverLeavesTheFolder(t *testing.T) {
	is := is.New(t)
	repo := hostileTree(t)
	snap, err := Local{Dir: repo, Path: "ws"}.Fetch(context.Background())
	is.NoErr(err)
	for _, name := range []string{"up.yaml", "abs.yaml", "team/w.yaml"} {
		_, err := fs.ReadFile(snap.Tree, name)
		is.True(err != nil) // os.DirFS would have read the secret
		t.Logf("%s: %v", name, err)
	}
	target, err := fs.ReadLink(snap.Tree, "up.yaml")
	is.NoErr(err)
	is.Equal(target, "../../outside/secret.yaml")
	checkLinksRefused(t, snap.Tree, "ws")

	_, err = Local{Dir: repo, Path: "escape"}.Fetch(context.Background())
	is.True(err != nil) // a --path that is a link out of the repository
	t.Logf("--path escape: %v", err)
}

func TestGitSymlinksAreNotFollowed(t *testing.T) {
	is := is.New(t)
	repo := hostileTree(t)
	s := gitserver.New(t, gitserver.Options{})
	_, err := s.CreateRepo("r")
	is.NoErr(err)
	_, err = s.PushDir("r", "main", repo, "links") // in Git a link is a blob of mode 120000
	is.NoErr(err)
	snap, err := NewGit(GitOptions{URL: s.RepoURL("r"), Auth: s.Auth(), Path: "ws"}).Fetch(context.Background())
	is.NoErr(err)
	for _, name := range []string{"up.yaml", "abs.yaml", "team/w.yaml", "inside.yaml"} {
		_, err := fs.ReadFile(snap.Tree, name)
		is.True(err != nil)
	}
	target, err := fs.ReadLink(snap.Tree, "team")
	is.NoErr(err)
	is.Equal(target, "../../outside/nested")
	checkLinksRefused(t, snap.Tree, "ws")

	_, err = NewGit(GitOptions{URL: s.RepoURL("r"), Auth: s.Auth(), Path: "escape"}).Fetch(context.Background())
	is.True(err != nil) // a link is not a folder
}

// peakHeap runs f and returns the most heap it held above what was live before, sampled every
// 200µs (a lower bound of the true peak), and what stays live after it (after a GC).
func peakHeap(f func()) (peak, retained uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var max atomic.Uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		sample := []metrics.Sample{{Name: s[0].Name}}
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > base && v-base > max.Load() {
				max.Store(v - base)
			}
			select {
			case <-done:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	f()
	close(done)
	<-stopped
	runtime.GC()
	runtime.GC() // a sync.Pool lets go of its buffers on the second collection
	metrics.Read(s)
	if v := s[0].Value.Uint64(); v > base {
		retained = v - base
	}
	return max.Load(), retained
}

// A 100 MB file of zeros (a 100 KB pack: a "Git bomb") is refused by its size, from a stat, in
// either source; the Git source's fetch holds it compressed.
func TestHugeFileRefusedWithoutReadingIt(t *testing.T) {
	const size = 100 << 20
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "a.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(ws, "big.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil { // sparse: no disk, no memory
		t.Fatal(err)
	}
	f.Close()

	load := func(t *testing.T, tree fs.FS) {
		is := is.New(t)
		var set *workspaces.Set
		peak, _ := peakHeap(func() {
			var err error
			set, err = workspaces.Load(tree, ".", workspaces.Options{PathPrefix: "ws"})
			is.NoErr(err)
		})
		t.Logf("load: peak heap %.1f MiB", float64(peak)/(1<<20))
		is.True(peak < 4<<20) // refused from its size, not read
		is.Equal(set.Broken, []string{"ws/big.yaml"})
		is.Equal(len(set.Problems), 1)
		is.True(strings.Contains(set.Problems[0].String(), "ws/big.yaml: file is 104857600 bytes, larger than the limit of 1048576 bytes"))
		is.Equal(len(set.Companions), 1) // the other file loads
	}
	t.Run("local folder", func(t *testing.T) {
		snap, err := Local{Dir: dir, Path: "ws"}.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		load(t, snap.Tree)
	})
	t.Run("git", func(t *testing.T) {
		is := is.New(t)
		s := gitserver.New(t, gitserver.Options{})
		_, err := s.CreateRepo("r")
		is.NoErr(err)
		_, err = s.PushDir("r", "main", dir, "a 100 MB file")
		is.NoErr(err)
		var snap Snapshot
		g := NewGit(GitOptions{URL: s.RepoURL("r"), Auth: s.Auth(), Path: "ws"})
		t0 := time.Now()
		peak, retained := peakHeap(func() {
			snap, err = g.Fetch(context.Background())
			is.NoErr(err)
		})
		t.Logf("fetch: peak heap %.1f MiB, %.1f MiB kept after it, in %v (go-git inflates each object once, transiently, to index the pack)",
			float64(peak)/(1<<20), float64(retained)/(1<<20), time.Since(t0).Round(time.Millisecond))
		// go-git's memory storage keeps every object inflated: the 100 MB for as long as the
		// source lives, and 480 MiB at its peak (measured). The pack storage keeps it compressed
		// (100 KB); its peak is the one inflation (and a buffer's growth: 200 MiB seen under -race).
		is.True(retained < 16<<20)
		is.True(peak < 3*size)
		runtime.KeepAlive(g)
		load(t, snap.Tree)
	})
}

func TestFetchTimeout(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{})
	_, err := s.CreateRepo("r")
	is.NoErr(err)
	h, err := s.Commit("r", "main", map[string]string{"a.yaml": "a: 1\n"}, "a")
	is.NoErr(err)
	g := NewGit(GitOptions{URL: s.RepoURL("r"), Auth: s.Auth(), Timeout: 300 * time.Millisecond})
	s.SetFault(gitserver.Fault{Delay: time.Hour})
	_, err = g.Fetch(context.Background())
	is.True(err != nil)
	is.True(errors.Is(err, context.DeadlineExceeded))
	is.True(strings.Contains(err.Error(), "no complete answer within 300ms")) // says what happened
	s.ClearFault()
	snap, err := g.Fetch(context.Background())
	is.NoErr(err)
	is.Equal(snap.Commit, h)
}
