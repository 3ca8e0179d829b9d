package gitbranch

import (
	"context"
	"fmt"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// A branch is started with no history, an edit that changes nothing commits nothing, and a push
// refused because someone else pushed first is rebuilt on their commit, which is kept.
func TestPublish(t *testing.T) {
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	if _, err := srv.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Commit("fleet", "main", map[string]string{"a.yaml": "source\n"}, "source"); err != nil {
		t.Fatal(err)
	}
	b := &Branch{URL: srv.RepoURL("fleet"), Name: "out", Auth: srv.Auth()}
	write := func(files map[string]string, remove ...string) Change {
		return func(*object.Commit) (Edit, string, error) {
			e := Edit{Files: map[string][]byte{}, Remove: remove}
			for k, v := range files {
				e.Files[k] = []byte(v)
			}
			return e, "test commit\n", nil
		}
	}

	is := is.New(t)
	committed, err := b.Publish(ctx, write(map[string]string{"x/a.yaml": "a\n", "x/b.yaml": "b\n"}))
	is.NoErr(err)
	is.True(committed)
	files, first, err := srv.ReadBranch("fleet", "out")
	is.NoErr(err)
	is.Equal(files, map[string]string{"x/a.yaml": "a\n", "x/b.yaml": "b\n"})

	committed, err = b.Publish(ctx, write(map[string]string{"x/a.yaml": "a\n"}))
	is.NoErr(err)
	is.True(!committed) // nothing changed
	_, head, _ := srv.ReadBranch("fleet", "out")
	is.Equal(head, first)

	theirs := 0
	b.BeforePush = func(attempt int) {
		if attempt == 1 { // someone else pushes between our clone and our push
			theirs++
			if _, err := srv.Commit("fleet", "out", map[string]string{"theirs.md": fmt.Sprint(theirs)}, "theirs"); err != nil {
				t.Error(err)
			}
		}
	}
	committed, err = b.Publish(ctx, write(map[string]string{"x/c.yaml": "c\n"}, "x/b.yaml"))
	is.NoErr(err)
	is.True(committed)
	is.Equal(b.Retries(), int64(1))
	files, _, err = srv.ReadBranch("fleet", "out")
	is.NoErr(err)
	is.Equal(files, map[string]string{"x/a.yaml": "a\n", "x/c.yaml": "c\n", "theirs.md": "1"}) // theirs kept
}

func TestPublishRefusesPathsOutsideTheTree(t *testing.T) {
	for _, name := range []string{"../x", "/etc/passwd", ".git/config", "a/../../b", "a/.GIT/x", "."} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			is.True(!InTree(name))
		})
	}
	is := is.New(t)
	is.True(InTree("rendered/ns/a/Service.a.yaml"))
}

// TestCommitOfNothing: an edit that leaves a branch with no history empty is no change; one that
// writes a file is a commit the branch points at, to be pushed next.
func TestCommitOfNothing(t *testing.T) {
	is := is.New(t)
	repo, err := git.Init(memory.NewStorage(), nil)
	is.NoErr(err)
	b := &Branch{URL: "file:///nowhere", Name: "out"}
	edit := func(files map[string][]byte) Change {
		return func(*object.Commit) (Edit, string, error) {
			return Edit{Files: files, Remove: []string{"owned"}}, "m\n", nil
		}
	}
	h, err := b.commit(repo, plumbing.ZeroHash, edit(map[string][]byte{}))
	is.NoErr(err)
	is.True(h.IsZero())
	h, err = b.commit(repo, plumbing.ZeroHash, edit(map[string][]byte{"owned/a/b.yaml": []byte("b\n")}))
	is.NoErr(err)
	is.True(!h.IsZero())
	ref, err := repo.Reference(plumbing.NewBranchReferenceName("out"), false)
	is.NoErr(err)
	is.Equal(ref.Hash(), h)

	_, err = b.commit(repo, plumbing.ZeroHash, edit(map[string][]byte{"../x": nil}))
	is.Equal(err.Error(), `refusing to write "../x" outside the tree`)
}

// A caller that read the branch first publishes on that checkout: no second clone, only the push.
func TestPublishFromACheckoutClonesOnce(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	srv := gitserver.New(t, gitserver.Options{})
	_, err := srv.CreateRepo("fleet")
	is.NoErr(err)
	_, err = srv.Commit("fleet", "out", map[string]string{"a": "a\n"}, "start")
	is.NoErr(err)
	b := &Branch{URL: srv.RepoURL("fleet"), Name: "out", Auth: srv.Auth()}
	write := func(name string) Change {
		return func(*object.Commit) (Edit, string, error) {
			return Edit{Files: map[string][]byte{name: []byte("x\n")}}, "m\n", nil
		}
	}

	before := srv.Served()
	committed, err := b.Publish(ctx, write("b"))
	is.NoErr(err)
	is.True(committed)
	cloneAndPush := srv.Served() - before

	repo, tip, err := b.Checkout(ctx)
	is.NoErr(err)
	before = srv.Served()
	committed, err = b.PublishFrom(ctx, repo, tip, write("c"))
	is.NoErr(err)
	is.True(committed)
	pushOnly := srv.Served() - before
	is.True(pushOnly < cloneAndPush)
	files, _, err := srv.ReadBranch("fleet", "out")
	is.NoErr(err)
	is.Equal(files, map[string]string{"a": "a\n", "b": "x\n", "c": "x\n"})
}
