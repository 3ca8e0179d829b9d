package branch

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaito-sync/kaito-sync/status"
)

// bareRepo makes an empty bare repository on disk and returns its file:// URL. The git binary
// serves it (go-git's file transport runs git-upload-pack and git-receive-pack), so a benchmark
// measures the writer and not an HTTP server living in the same process.
func bareRepo(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "fleet.git")
	if out, err := exec.Command("git", "init", "--quiet", "--bare", dir).CombinedOutput(); err != nil {
		tb.Fatalf("git init: %v: %s", err, out)
	}
	return "file://" + dir
}

// fleet is a report of n workspaces spread over ten namespaces, each with the conditions of a
// ready inference workspace.
func fleet(n int) *status.Report {
	base := report()
	tmpl := base.Workspaces[0]
	base.Workspaces = make([]*status.WorkspaceStatus, 0, n)
	for i := range n {
		ws := *tmpl
		ws.Namespace = fmt.Sprintf("team-%d", i%10)
		ws.Name = fmt.Sprintf("model-%04d", i)
		ws.Conditions = append([]status.Condition(nil), tmpl.Conditions...)
		base.Workspaces = append(base.Workspaces, &ws)
	}
	return base
}

// BenchmarkWrite1000 writes a report of 1,000 workspaces to a branch that already holds the
// previous report, as the daemon does on every status change. "changed" moves the clock and one
// workspace's condition, so every write commits and pushes; "unchanged" writes the same report,
// so it clones and builds the tree but finds nothing to commit.
func BenchmarkWrite1000(b *testing.B) {
	ctx := context.Background()
	for _, changed := range []bool{true, false} {
		name := map[bool]string{true: "changed", false: "unchanged"}[changed]
		b.Run(name, func(b *testing.B) {
			w := &Writer{URL: bareRepo(b), Branch: DefaultBranch}
			rep := fleet(1000)
			if _, err := w.Write(ctx, rep); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if changed {
					rep.UpdatedAt = rep.UpdatedAt.Add(time.Minute)
					rep.Workspaces[i%len(rep.Workspaces)].Conditions[2].Message = fmt.Sprintf("serving, write %d", i)
				}
				committed, err := w.Write(ctx, rep)
				if err != nil {
					b.Fatal(err)
				}
				if committed != changed {
					b.Fatalf("write %d: committed %v, want %v", i, committed, changed)
				}
			}
		})
	}
}

// BenchmarkRender1000 is the part of BenchmarkWrite1000 that renders the files, to tell it from
// the Git work.
func BenchmarkRender1000(b *testing.B) {
	rep := fleet(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(rep, RelativeLink(DefaultBranch)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublish1000 is BenchmarkWrite1000 without Render: clone, tree, commit and push alone.
// "changed" rewrites one workspace's file, so every publish commits and pushes.
func BenchmarkPublish1000(b *testing.B) {
	ctx := context.Background()
	for _, changed := range []bool{true, false} {
		name := map[bool]string{true: "changed", false: "unchanged"}[changed]
		b.Run(name, func(b *testing.B) {
			w := &Writer{URL: bareRepo(b), Branch: DefaultBranch}
			rep := fleet(1000)
			files, err := Render(rep, RelativeLink(DefaultBranch))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.publish(ctx, files, rep); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if changed {
					ws := rep.Workspaces[i%len(rep.Workspaces)]
					files[WorkspaceFile(ws.Namespace, ws.Name)] = fmt.Appendf(nil, "# write %d\n", i)
				}
				committed, err := w.publish(ctx, files, rep)
				if err != nil {
					b.Fatal(err)
				}
				if committed != changed {
					b.Fatalf("publish %d: committed %v, want %v", i, committed, changed)
				}
			}
		})
	}
}
