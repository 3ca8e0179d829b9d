package syncloop

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// TestHydrateToBranch runs hydrate mode against the loopback Git server: rendered manifests land
// on their own branch, one commit per source commit that changed them, naming it; no commit when
// nothing changed; files of a removed workspace are removed.
func TestHydrateToBranch(t *testing.T) {
	srv := gitserver.New(t, gitserver.Options{})
	if _, err := srv.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	url := srv.RepoURL("fleet")
	src := source.NewGit(source.GitOptions{URL: url, Path: "workspaces", Auth: srv.Auth()})
	target := &ksync.GitBranch{URL: url, Branch: "rendered", Auth: srv.Auth()}
	rec := ksync.NewReconciler(src, target, presets.Default(), ksync.Options{Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	one := strings.ReplaceAll(phi3, "NAMESPACE", "team-a")
	two := strings.ReplaceAll(strings.Replace(phi3, "name: phi-3\n", "name: phi-3-b\n", 1), "NAMESPACE", "team-a")
	three := strings.ReplaceAll(strings.Replace(phi3, "name: phi-3\n", "name: phi-3-c\n", 1), "NAMESPACE", "team-a")

	sync := func(t *testing.T) {
		t.Helper()
		res, err := rec.SyncOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed() {
			t.Fatalf("sync failed: %+v", res.Set.Problems)
		}
	}
	rendered := func(t *testing.T) (map[string]string, string) {
		t.Helper()
		files, head, err := srv.ReadBranch("fleet", "rendered")
		if err != nil {
			t.Fatal(err)
		}
		return files, head
	}

	is := is.New(t)
	src1, err := srv.Commit("fleet", "main", map[string]string{"workspaces/a.yaml": one, "workspaces/b.yaml": two, "workspaces/c.yaml": three}, "three workspaces")
	is.NoErr(err)
	sync(t)
	files, head1 := rendered(t)
	is.True(strings.Contains(files["rendered/team-a/phi-3/StatefulSet.phi-3.yaml"], "kind: StatefulSet"))
	is.True(files["rendered/team-a/phi-3-b/Service.phi-3-b.yaml"] != "")
	msg := commitMessage(t, srv, head1)
	is.True(strings.Contains(msg, src1)) // the hydrated commit names its source commit

	// A source commit that touches no workspace: no new rendered commit.
	_, err = srv.Commit("fleet", "main", map[string]string{"README.md": "# fleet\n"}, "docs only")
	is.NoErr(err)
	sync(t)
	_, head2 := rendered(t)
	is.Equal(head2, head1)

	// Removing a workspace removes its files (Argo CD's hydrator would leave them).
	_, err = srv.DeleteFiles("fleet", "main", "remove c", "workspaces/c.yaml")
	is.NoErr(err)
	sync(t)
	files, head3 := rendered(t)
	is.True(head3 != head1)
	for name := range files {
		is.True(!strings.Contains(name, "phi-3-c")) // gone
	}
	is.True(files["rendered/team-a/phi-3/StatefulSet.phi-3.yaml"] != "")
}

func commitMessage(t *testing.T, srv *gitserver.Server, hash string) string {
	t.Helper()
	repo, err := git.PlainOpen(filepath.Join(srv.Dir, "fleet.git"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		t.Fatal(err)
	}
	return c.Message
}

// racingTarget pushes someone else's commit to the hydrate branch after the sync read it and
// before it commits: the moment a second writer (a person, another tool) would collide.
type racingTarget struct {
	*ksync.GitBranch
	race func()
}

func (r racingTarget) Finish(ctx context.Context, snap source.Snapshot) error {
	r.race()
	return r.GitBranch.Finish(ctx, snap)
}

// Someone else pushing to the hydrate branch while a sync renders does not fail the sync: its
// files are committed on top of their commit, which is kept (it used to fail the push).
func TestHydrateBranchSurvivesACompetingPush(t *testing.T) {
	is := is.New(t)
	srv := gitserver.New(t, gitserver.Options{})
	_, err := srv.CreateRepo("fleet")
	is.NoErr(err)
	url := srv.RepoURL("fleet")
	_, err = srv.Commit("fleet", "main", map[string]string{"workspaces/a.yaml": strings.ReplaceAll(phi3, "NAMESPACE", "team-a")}, "one")
	is.NoErr(err)
	_, err = srv.Commit("fleet", "rendered", map[string]string{"NOTES.md": "ours\n"}, "a note on the branch")
	is.NoErr(err)
	target := racingTarget{GitBranch: &ksync.GitBranch{URL: url, Branch: "rendered", Auth: srv.Auth()}, race: func() {
		if _, err := srv.Commit("fleet", "rendered", map[string]string{"NOTES.md": "theirs\n"}, "someone else"); err != nil {
			t.Error(err)
		}
	}}
	rec := ksync.NewReconciler(source.NewGit(source.GitOptions{URL: url, Path: "workspaces", Auth: srv.Auth()}), target,
		presets.Default(), ksync.Options{Logger: slog.New(slog.DiscardHandler)})
	res, err := rec.SyncOnce(context.Background())
	is.NoErr(err)
	is.True(!res.Failed())
	files, _, err := srv.ReadBranch("fleet", "rendered")
	is.NoErr(err)
	is.Equal(files["NOTES.md"], "theirs\n") // their commit is kept
	is.True(files["rendered/team-a/phi-3/StatefulSet.phi-3.yaml"] != "")
	is.True(files["rendered/team-a/namespace.yaml"] != "")
}
