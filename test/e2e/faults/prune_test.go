package faults

import (
	"context"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// What wipes clusters under other GitOps tools, against the real API server: a renamed file, a
// document that could be any workspace, a typo in the path, an emptied folder. Nothing Git still
// declares is deleted, and what Git may no longer declare is deleted only when that is certain.
func TestPruneGuards(t *testing.T) {
	f := newFixture(t, options{})
	files := f.files("ws-a", "ws-b", "ws-c")
	files["workspaces/README.md"] = "The fleet.\n" // keeps the folder when no workspace is left
	f.push(files, "three workspaces")
	f.syncOK()
	before := f.objects()
	change := func(c gitserver.Change) {
		t.Helper()
		if _, err := f.git.Push("fleet", "main", c); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a file renamed or moved: the same objects", func(t *testing.T) {
		is := is.New(t)
		change(gitserver.Change{Files: map[string]string{"workspaces/team/a.yaml": f.workspace("ws-a")}, Delete: []string{"workspaces/ws-a.yaml"}})
		res := f.syncOK()
		is.Equal(res.Changes.Count(apply.Deleted), 0)
		is.Equal(f.objects(), before)
	})

	t.Run("a document tied to no workspace: nothing is pruned", func(t *testing.T) {
		is := is.New(t)
		change(gitserver.Change{Files: map[string]string{"workspaces/odd.yaml": "- what\n- is this\n"}, Delete: []string{"workspaces/ws-b.yaml"}})
		res, err := f.sync()
		is.NoErr(err)
		is.Equal(res.PruneBlocked, "a document could not be tied to a workspace")
		is.Equal(res.Changes.Count(apply.Deleted), 0)
		is.Equal(f.objects(), before) // ws-b stays: odd.yaml might have been it
		change(gitserver.Change{Files: f.files("ws-b"), Delete: []string{"workspaces/odd.yaml"}})
		f.syncOK()
	})

	t.Run("a typo in --path: nothing is pruned", func(t *testing.T) {
		is := is.New(t)
		typo := source.NewGit(source.GitOptions{URL: f.git.RepoURL("fleet"), Path: "workspace", Auth: f.git.Auth()})
		r := ksync.NewReconciler(typo, ksync.Cluster{M: f.m}, presets.Default(), ksync.Options{})
		res, err := r.SyncOnce(context.Background())
		is.True(err != nil)
		t.Log(err)
		is.True(strings.Contains(err.Error(), `path "workspace": not a folder`))
		is.Equal(len(res.Changes.Entries), 0)
		is.Equal(f.objects(), before)
	})

	t.Run("the folder emptied: refused as a mass prune", func(t *testing.T) {
		is := is.New(t)
		change(gitserver.Change{Delete: []string{"workspaces/team", "workspaces/ws-b.yaml", "workspaces/ws-c.yaml"}})
		res, err := f.sync()
		is.NoErr(err)
		is.True(strings.Contains(res.PruneBlocked, "it would remove 3 of 3 workspaces"))
		is.Equal(res.Changes.Count(apply.Deleted), 0)
		is.Equal(f.objects(), before)
	})
}
