package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/status/branch"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// TestFolderStatusCarriesOverBetweenRuns: a --once run into a folder starts from the statuses the
// run before left there, so a workspace whose file broke since keeps its last known status (its
// preset and instance type) on the dashboard, with the file's error — not a bare name, not gone.
func TestFolderStatusCarriesOverBetweenRuns(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	result := func(commit string, files map[string]string, blocked string, kept ...string) *ksync.Result {
		fsys := fstest.MapFS{}
		for name, data := range files {
			fsys[name] = &fstest.MapFile{Data: []byte(data)}
		}
		set, err := workspaces.Load(fsys, ".", workspaces.Options{})
		is.NoErr(err)
		workspaces.Check(set, presets.Default(), workspaces.CheckOptions{})
		return &ksync.Result{Commit: commit, Set: set, PruneBlocked: blocked, PruneKept: kept}
	}
	// Each run is a process of its own: a new reporter on the same folder.
	publish := func(res *ksync.Result) {
		rep := status.NewReporter(status.ReporterOptions{Writer: &branch.Folder{Dir: filepath.Join(dir, "status")}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- rep.Run(ctx) }()
		rep.Observe(res)
		is.NoErr(rep.Flush(ctx))
		cancel()
		is.NoErr(<-done)
	}
	publish(result("c1", map[string]string{"phi.yaml": planWorkspace}, ""))

	broken := "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata: {name: [unclosed\n"
	publish(result("c2", map[string]string{"phi.yaml": broken},
		"files did not load completely (phi.yaml)", "default/workspace-phi-3-mini"))
	readme, err := os.ReadFile(filepath.Join(dir, "status", "README.md"))
	is.NoErr(err)
	s := string(readme)
	is.True(strings.Contains(s, "| workspace-phi-3-mini (")) // still listed
	is.True(strings.Contains(s, "× `Standard_NC6s_v3`"))     // with what it runs, from the run before
	is.True(strings.Contains(s, "`phi.yaml:3:"))             // and its file's error, file:line
	is.True(strings.Contains(s, "its file phi.yaml did not load; this is its last known status"))
}
