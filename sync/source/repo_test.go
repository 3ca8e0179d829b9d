package source

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/matryer/is"
)

// bareCopy clones r into a bare repository whose HEAD names a branch it does not have (master),
// as a server's bare repository often does after its default branch was renamed.
func bareCopy(t *testing.T, r *repoOnDisk) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fleet.git")
	bare, err := git.PlainClone(dir, true, &git.CloneOptions{URL: r.dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := bare.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName("master"))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestResolveRepo: the one --repo rule of sync, plan and status.
func TestResolveRepo(t *testing.T) {
	r := newRepo(t)
	r.commit(map[string]*string{"ws/a.yaml": str("one")}, "first")
	bare := bareCopy(t, r)
	plain := t.TempDir()
	file := filepath.Join(plain, "f.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, arg string
		kind      RepoKind
		sub       string
		err       string
	}{
		{"work tree", r.dir, RepoWorkTree, "", ""},
		{"folder inside a work tree", filepath.Join(r.dir, "ws"), RepoWorkTree, "ws", ""},
		{"bare repository", bare, RepoBare, "", ""},
		{"folder outside any repository", plain, RepoFolder, "", ""},
		{"https URL", "https://example.com/org/fleet.git", RepoURL, "", ""},
		{"scp-like URL", "git@example.com:org/fleet.git", RepoURL, "", ""},
		{"file URL", "file://" + bare, RepoURL, "", ""},
		{"typo", filepath.Join(plain, "nope"), "", "", "no such folder, and not a Git URL"},
		{"a file", file, "", "", "is a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got, err := ResolveRepo(tt.arg)
			if tt.err != "" {
				is.True(err != nil)
				is.True(strings.Contains(err.Error(), tt.err)) // the error says what is wrong
				return
			}
			is.NoErr(err)
			is.Equal(got.Kind, tt.kind)
			is.Equal(got.Sub, tt.sub)
			is.Equal(got.Path("x"), strings.TrimPrefix(tt.sub+"/x", "/")) // --path is relative to the folder given
		})
	}
}

// TestBareRepository: a bare repository given by its path is read from its branches in place by
// sync and plan alike, and one whose HEAD names a missing branch works, by path or file:// URL;
// a missing branch is named with the branches there are.
func TestBareRepository(t *testing.T) {
	is := is.New(t)
	r := newRepo(t)
	tip := r.commit(map[string]*string{"ws/a.yaml": str("one")}, "first")
	bare := bareCopy(t, r)
	ctx := context.Background()

	repo, err := ResolveRepo(bare)
	is.NoErr(err)
	snap, err := repo.Source(GitOptions{Branch: "main", Path: "ws"}).Fetch(ctx)
	is.NoErr(err)
	is.Equal(snap.Commit, tip)
	b, err := fs.ReadFile(snap.Tree, "a.yaml")
	is.NoErr(err)
	is.Equal(string(b), "one")

	_, err = repo.Source(GitOptions{Branch: "master", Path: "ws"}).Fetch(ctx)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "bare repository "+bare+": no branch master; its branches: main"))

	for _, arg := range []string{bare, "file://" + bare} {
		g, err := OpenRepository(ctx, arg, nil) // failed with "reference not found" through file://
		is.NoErr(err)
		snap, err := Revision(g, "main", "ws")
		is.NoErr(err)
		is.Equal(snap.Commit, tip)
		_, err = Revision(g, "master", "ws")
		is.True(err != nil)
		is.True(strings.Contains(err.Error(), `revision "master": no branch, tag or commit of that name; its branches: main`))
	}
}

// TestLocalSaysWhenTheWorkTreeIsNotItsCommit: a sync of a work tree names its commit only when
// the folder it read is that commit's; an edit, a new or a deleted file there (not one .gitignore
// excludes, nor one outside the folder) makes it the working tree with uncommitted changes.
func TestLocalSaysWhenTheWorkTreeIsNotItsCommit(t *testing.T) {
	r := newRepo(t)
	tip := r.commit(map[string]*string{"ws/a.yaml": str("one"), "ws/sub/b.yaml": str("two"), ".gitignore": str("*.swp\n")}, "first")
	write := func(name, data string) func() {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		return func() {
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	remove := func(name string) func() {
		return func() {
			if err := os.Remove(filepath.Join(r.dir, filepath.FromSlash(name))); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name      string
		change    func()
		undo      func()
		dirty     bool
		dir, path string
	}{
		{"clean", func() {}, func() {}, false, r.dir, "ws"},
		{"an edit", write("ws/a.yaml", "changed"), write("ws/a.yaml", "one"), true, r.dir, "ws"},
		{"an edit, from a folder inside", write("ws/sub/b.yaml", "changed"), write("ws/sub/b.yaml", "two"), true, filepath.Join(r.dir, "ws"), ""},
		{"a new file", write("ws/c.yaml", "new"), remove("ws/c.yaml"), true, r.dir, "ws"},
		{"a deleted file", remove("ws/sub/b.yaml"), write("ws/sub/b.yaml", "two"), true, r.dir, "ws"},
		{"an ignored file", write("ws/a.yaml.swp", "x"), remove("ws/a.yaml.swp"), false, r.dir, "ws"},
		{"an edit outside the folder synced", write("README.md", "x"), remove("README.md"), false, r.dir, "ws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			tt.change()
			defer tt.undo()
			snap, err := Local{Dir: tt.dir, Path: tt.path}.Fetch(context.Background())
			is.NoErr(err)
			is.Equal(snap.Commit, tip)
			is.Equal(snap.Dirty, tt.dirty)
		})
	}
}
