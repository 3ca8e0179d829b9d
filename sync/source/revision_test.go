package source

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/matryer/is"
)

func TestRevision(t *testing.T) {
	is := is.New(t)
	r := newRepo(t)
	first := r.commit(map[string]*string{"ws/a.yaml": str("one"), "other/x.yaml": str("x")}, "first")
	_, err := r.repo.CreateTag("v1", plumbing.NewHash(first), nil)
	is.NoErr(err)
	second := r.commit(map[string]*string{"ws/a.yaml": str("two")}, "second")
	// A feature branch at the first commit, made without a checkout.
	is.NoErr(r.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("feature"), plumbing.NewHash(first))))

	local, err := OpenRepository(context.Background(), r.dir+"/ws", nil) // a folder inside the work tree
	is.NoErr(err)
	cloned, err := OpenRepository(context.Background(), "file://"+r.dir, nil)
	is.NoErr(err)

	tests := []struct {
		name, rev, dir string
		commit, a      string
		repo           *git.Repository
	}{
		{"branch", "main", "ws", second, "two", local},
		{"tag", "v1", "ws", first, "one", local},
		{"sha", second, "/ws/", second, "two", local},
		{"short sha", first[:10], "ws", first, "one", local},
		{"HEAD~1", "HEAD~1", "ws", first, "one", local},
		{"clone default branch", "main", "ws", second, "two", cloned},
		{"clone other branch", "feature", "ws", first, "one", cloned},
		{"clone remote name", "origin/feature", "ws", first, "one", cloned},
		{"clone tag", "v1", "ws", first, "one", cloned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			snap, err := Revision(tt.repo, tt.rev, tt.dir)
			is.NoErr(err)
			is.Equal(snap.Commit, tt.commit)
			is.Equal(snap.Path, "ws")
			b, err := fs.ReadFile(snap.Tree, "a.yaml")
			is.NoErr(err)
			is.Equal(string(b), tt.a)
		})
	}
}

func TestRevisionErrors(t *testing.T) {
	is := is.New(t)
	r := newRepo(t)
	r.commit(map[string]*string{"ws/a.yaml": str("one")}, "first")
	repo, err := OpenRepository(context.Background(), r.dir, nil)
	is.NoErr(err)

	_, err = Revision(repo, "nope", "")
	is.True(err != nil)
	_, err = Revision(repo, "", "")
	is.True(err != nil)
	_, err = Revision(repo, "main", "missing")
	is.True(err != nil)

	_, err = OpenRepository(context.Background(), t.TempDir(), nil) // a folder that is no repository
	is.True(err != nil)
	_, err = OpenRepository(context.Background(), "file://"+t.TempDir()+"/none", nil)
	is.True(err != nil)
}

func TestRevisionPastTheHistorySaysSo(t *testing.T) {
	is := is.New(t)
	r := newRepo(t)
	r.commit(map[string]*string{"a.yaml": str("a\n")}, "only commit")
	_, err := Revision(r.repo, "HEAD~5", "")
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "not in the history this repository holds"))
}
