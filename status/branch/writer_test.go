package branch

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

func newRepo(t *testing.T) (*gitserver.Server, *Writer) {
	t.Helper()
	srv := gitserver.New(t, gitserver.Options{})
	if _, err := srv.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Commit("fleet", "main", map[string]string{"workspaces/phi-3.yaml": "# source\n"}, "source"); err != nil {
		t.Fatal(err)
	}
	return srv, &Writer{URL: srv.RepoURL("fleet"), Branch: DefaultBranch, Auth: srv.Auth()}
}

func message(t *testing.T, srv *gitserver.Server, hash string) (string, []string) {
	t.Helper()
	repo, err := git.PlainOpen(filepath.Join(srv.Dir, "fleet.git"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		t.Fatal(err)
	}
	var parents []string
	for _, p := range c.ParentHashes {
		parents = append(parents, p.String())
	}
	return c.Message, parents
}

func TestWriter(t *testing.T) {
	srv, w := newRepo(t)
	ctx := context.Background()
	_, mainBefore, err := srv.ReadBranch("fleet", "main")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("first write starts the branch", func(t *testing.T) {
		is := is.New(t)
		rep := report()
		rep.SyncedCommits = []string{"aaaa", rep.SourceCommit} // two syncs since the last write
		committed, err := w.Write(ctx, rep)
		is.NoErr(err)
		is.True(committed)
		files, head, err := srv.ReadBranch("fleet", DefaultBranch)
		is.NoErr(err)
		is.True(strings.Contains(files[ReadmeFile], "| 🟢 | team-a | [phi-3]"))
		is.True(strings.HasPrefix(files[SVGFile], "<svg"))
		is.True(files["workspaces/team-b/bad.yaml"] != "")
		msg, parents := message(t, srv, head)
		is.Equal(len(parents), 0) // an orphan branch: no source history in it
		is.True(strings.HasPrefix(msg, "kaito-sync status: 0123456789ab ("))
		is.True(strings.Contains(msg, "\nSource-Commit: aaaa\nSource-Commit: "+rep.SourceCommit+"\n")) // none skipped
	})

	t.Run("the same report again: no commit", func(t *testing.T) {
		is := is.New(t)
		_, before, _ := srv.ReadBranch("fleet", DefaultBranch)
		committed, err := w.Write(ctx, report())
		is.NoErr(err)
		is.True(!committed)
		_, after, _ := srv.ReadBranch("fleet", DefaultBranch)
		is.Equal(after, before)
	})

	t.Run("read back what was written", func(t *testing.T) {
		is := is.New(t)
		got, err := w.Read(ctx)
		is.NoErr(err)
		is.True(status.Equal(got, report()))
		is.Equal(got.UpdatedAt, report().UpdatedAt)
	})

	t.Run("a workspace gone from the report loses its file", func(t *testing.T) {
		is := is.New(t)
		rep := report()
		rep.Workspaces = rep.Workspaces[:3]
		committed, err := w.Write(ctx, rep)
		is.NoErr(err)
		is.True(committed)
		files, _, _ := srv.ReadBranch("fleet", DefaultBranch)
		_, ok := files["workspaces/team-b/bad.yaml"]
		is.True(!ok)
		is.True(!strings.Contains(files[ReadmeFile], "team-b"))
	})

	t.Run("a competing push is survived and kept", func(t *testing.T) {
		is := is.New(t)
		var theirs string
		w.beforePush = func(attempt int) {
			if attempt == 1 { // someone pushes between our clone and our push
				h, err := srv.Commit("fleet", DefaultBranch, map[string]string{"NOTES.md": "a person's note\n"}, "note")
				is.NoErr(err)
				theirs = h
			}
		}
		defer func() { w.beforePush = nil }()
		retries := w.Retries()
		rep := report()
		rep.UpdatedAt = rep.UpdatedAt.Add(time.Hour)
		committed, err := w.Write(ctx, rep)
		is.NoErr(err)
		is.True(committed)
		is.Equal(w.Retries(), retries+1)
		files, head, _ := srv.ReadBranch("fleet", DefaultBranch)
		is.Equal(files["NOTES.md"], "a person's note\n") // their file is kept
		is.True(strings.Contains(files[ReadmeFile], "As of 2025-06-01 14:30:00 UTC"))
		_, parents := message(t, srv, head)
		is.Equal(parents, []string{theirs}) // built on top of their commit, not forced over it
	})

	t.Run("a hostile workspace name stays inside workspaces/", func(t *testing.T) {
		is := is.New(t)
		rep := report()
		rep.Workspaces = append(rep.Workspaces, &status.WorkspaceStatus{Namespace: "../..", Name: "../../etc/passwd"})
		_, err := w.Write(ctx, rep)
		is.NoErr(err)
		files, _, _ := srv.ReadBranch("fleet", DefaultBranch)
		for name := range files {
			is.True(!strings.Contains(name, "..") && !strings.HasPrefix(name, "etc"))
		}
	})

	t.Run("no other branch is touched", func(t *testing.T) {
		is := is.New(t)
		_, mainAfter, err := srv.ReadBranch("fleet", "main")
		is.NoErr(err)
		is.Equal(mainAfter, mainBefore)
	})
}

func TestWriterRefusesBadBranchNames(t *testing.T) {
	is := is.New(t)
	for _, b := range []string{"", "a..b", "refs/../x", "x:y", "-x y"} {
		w := &Writer{URL: "http://127.0.0.1:1/x.git", Branch: b}
		_, err := w.Write(context.Background(), report())
		is.True(err != nil)
	}
}
