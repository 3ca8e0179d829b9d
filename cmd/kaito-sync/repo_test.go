package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/matryer/is"

	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// TestRepoRuleInEveryCommand: sync, plan and status read the same --repo the same way — a work
// tree, a folder inside one, a bare repository's path (whose HEAD names a missing branch), its
// file:// URL, a plain folder — and say clearly what they cannot do with it.
func TestRepoRuleInEveryCommand(t *testing.T) {
	dir, c := planRepo(t)
	bare := filepath.Join(t.TempDir(), "fleet.git")
	b, err := git.PlainClone(bare, true, &git.CloneOptions{URL: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName("master"))); err != nil {
		t.Fatal(err)
	}
	plain := t.TempDir()
	if err := os.WriteFile(filepath.Join(plain, "phi.yaml"), []byte(planWorkspace), 0o644); err != nil {
		t.Fatal(err)
	}
	tip := gitbranch.ShortCommit(c[len(c)-1])
	const noStatus = "no branch kaito-status; its branches: main"
	tests := []struct {
		name, repo, path           string
		sync, plan, status, errAll string
	}{
		{name: "work tree", repo: dir, path: "ws", sync: "synced " + tip, plan: "1 to change", status: noStatus},
		{name: "folder inside a work tree", repo: filepath.Join(dir, "ws"), sync: "synced " + tip, plan: "1 to change", status: noStatus},
		{name: "bare repository", repo: bare, path: "ws", sync: "synced " + tip, plan: "1 to change", status: noStatus},
		{name: "bare repository by file:// URL", repo: "file://" + bare, path: "ws", sync: "synced " + tip, plan: "1 to change", status: "holds no statuses"},
		{name: "plain folder", repo: plain, sync: "synced working tree", plan: "is a folder outside any Git repository", status: "is a folder outside any Git repository"},
		{name: "typo", repo: filepath.Join(plain, "nope"), errAll: "no such folder, and not a Git URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			commands := []struct {
				args []string
				want string
			}{
				{[]string{"sync", "--repo", tt.repo, "--path", tt.path, "--once", "--target", "dir", "--out", t.TempDir()}, tt.sync},
				{[]string{"plan", "--repo", tt.repo, "--path", tt.path, "--base", c[0], "--head", c[2]}, tt.plan},
				{[]string{"status", "--repo", tt.repo}, tt.status},
			}
			for _, cmd := range commands {
				is := is.New(t)
				var out bytes.Buffer
				run(cmd.args, &out, &out)
				want := cmd.want
				if tt.errAll != "" {
					want = tt.errAll
				}
				is.True(strings.Contains(out.String(), want)) // what the command says
				is.True(!strings.Contains(out.String(), "reference not found"))
			}
		})
	}
}

func TestSyncedWhat(t *testing.T) {
	tests := []struct {
		res  ksync.Result
		want string
	}{
		{ksync.Result{Commit: "0123456789abcdef0123"}, "0123456789ab"},
		{ksync.Result{Commit: "0123456789abcdef0123", Dirty: true}, "working tree with uncommitted changes (on 0123456789ab)"},
		{ksync.Result{}, "working tree"},
	}
	for _, tt := range tests {
		is.New(t).Equal(syncedWhat(&tt.res), tt.want)
	}
}
