package branch

import (
	"context"
	"maps"
	"path/filepath"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// TestWriteOnABranchOthersUse writes on a branch where other people commit too: whatever they put
// outside workspaces/ stays, workspaces/ holds exactly the report's workspaces, and a report
// that changes nothing makes no commit.
func TestWriteOnABranchOthersUse(t *testing.T) {
	theirs := map[string]string{"NOTES.md": "a person's note\n", "docs/x.md": "# x\n", "docs/deep/y.md": "y\n"}
	fewer := func() *status.Report { rep := report(); rep.Workspaces = rep.Workspaces[:3]; return rep }
	cases := []struct {
		name    string
		before  func(t *testing.T, srv *gitserver.Server, w *Writer) // what the branch holds before the write
		rep     *status.Report
		commits bool
		kept    map[string]string // files on the branch besides the report's
	}{
		{name: "their files outside workspaces/ survive, a stale workspace file goes",
			before: func(t *testing.T, srv *gitserver.Server, w *Writer) {
				push(t, srv, with(theirs, map[string]string{"workspaces/gone/old.yaml": "old\n", ReadmeFile: "theirs\n"}))
			},
			rep: report(), commits: true, kept: theirs},
		{name: "a workspace gone from the report loses its file",
			before: func(t *testing.T, srv *gitserver.Server, w *Writer) {
				push(t, srv, theirs)
				write(t, w, report(), true)
			},
			rep: fewer(), commits: true, kept: theirs},
		{name: "an unchanged report makes no commit",
			before: func(t *testing.T, srv *gitserver.Server, w *Writer) {
				push(t, srv, theirs)
				write(t, w, fewer(), true)
			},
			rep: fewer(), commits: false, kept: theirs},
		{name: "a changed report on top of their latest note",
			before: func(t *testing.T, srv *gitserver.Server, w *Writer) {
				write(t, w, report(), true)
				push(t, srv, theirs)
			},
			rep:     func() *status.Report { rep := report(); rep.Workspaces[0].Nodes = []string{"gpu-9"}; return rep }(),
			commits: true, kept: theirs},
		{name: "a new branch holds the report alone", before: func(*testing.T, *gitserver.Server, *Writer) {},
			rep: report(), commits: true, kept: map[string]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			srv, w := newRepo(t)
			c.before(t, srv, w)
			_, before, _ := srv.ReadBranch("fleet", DefaultBranch) // empty when the branch is new

			is.Equal(write(t, w, c.rep, c.commits), c.commits)

			files, head, err := srv.ReadBranch("fleet", DefaultBranch)
			is.NoErr(err)
			rendered, err := Render(c.rep, RelativeLink(DefaultBranch))
			is.NoErr(err)
			is.Equal(files, with(c.kept, toStrings(rendered))) // theirs and the report's, nothing else
			if !c.commits {
				is.Equal(head, before)
				return
			}
			commit := commitOf(t, srv, head)
			is.Equal(commit.Message, Message(c.rep))
			is.Equal(commit.Author.Name, "kaito-sync")
			is.Equal(commit.Author.Email, "kaito-sync@users.noreply.local")
			is.Equal(commit.Committer, commit.Author)
			if before == "" {
				is.Equal(len(commit.ParentHashes), 0)
			} else {
				is.Equal(commit.ParentHashes, []plumbing.Hash{plumbing.NewHash(before)})
			}
		})
	}
}

// TestWriteSignsAsTheAuthor checks a chosen author is the commit's author and committer, cleaned
// of what would break the commit's header.
func TestWriteSignsAsTheAuthor(t *testing.T) {
	is := is.New(t)
	srv, w := newRepo(t)
	w.Author = object.Signature{Name: "Fleet <Bot>\n", Email: "<bot@example.com>"}
	write(t, w, report(), true)
	_, head, err := srv.ReadBranch("fleet", DefaultBranch)
	is.NoErr(err)
	commit := commitOf(t, srv, head)
	is.Equal(commit.Author.Name, "Fleet Bot")
	is.Equal(commit.Author.Email, "bot@example.com")
	is.Equal(commit.Committer, commit.Author)
}

// TestCheckoutIsBare: a worktree would hold a second copy of every file of the branch.
func TestCheckoutIsBare(t *testing.T) {
	is := is.New(t)
	srv, w := newRepo(t)
	for _, exists := range []bool{false, true} {
		if exists {
			push(t, srv, map[string]string{"NOTES.md": "n\n"})
		}
		repo, base, err := w.branch().Checkout(context.Background())
		is.NoErr(err)
		is.Equal(base.IsZero(), !exists)
		_, err = repo.Worktree()
		is.Equal(err, git.ErrIsBareRepository)
	}
}

func TestReadWithoutStatusFile(t *testing.T) {
	is := is.New(t)
	srv, w := newRepo(t)
	rep, err := w.Read(context.Background()) // no branch
	is.NoErr(err)
	is.Equal(rep, nil)
	push(t, srv, map[string]string{"NOTES.md": "n\n"})
	rep, err = w.Read(context.Background()) // a branch with no status.json
	is.NoErr(err)
	is.Equal(rep, nil)
}

func push(t *testing.T, srv *gitserver.Server, files map[string]string) {
	t.Helper()
	if _, err := srv.Commit("fleet", DefaultBranch, files, "theirs"); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, w *Writer, rep *status.Report, want bool) bool {
	t.Helper()
	committed, err := w.Write(context.Background(), rep)
	if err != nil {
		t.Fatal(err)
	}
	if committed != want {
		t.Fatalf("committed %v, want %v", committed, want)
	}
	return committed
}

func with(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func commitOf(t *testing.T, srv *gitserver.Server, hash string) *object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(filepath.Join(srv.Dir, "fleet.git"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func toStrings(files map[string][]byte) map[string]string {
	out := make(map[string]string, len(files))
	for name, b := range files {
		out[name] = string(b)
	}
	return out
}
