package render

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render/kustomizetest"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

const benchWorkspaces = 1000

// benchSet makes n distinct valid workspaces: copies of the golden inputs (every family, runtime,
// adapters, templates, tuning) under new names, spread over 20 namespaces, each with its own
// companions.
func benchSet(b *testing.B, n int) []loaded {
	b.Helper()
	var templates []loaded
	for _, tc := range goldenCases {
		templates = append(templates, load(b, tc.input)...)
	}
	out := make([]loaded, n)
	for i := range out {
		t := templates[i%len(templates)]
		ws := *t.ws
		ws.Metadata = *t.ws.Metadata.DeepCopy()
		ws.Metadata.Name = fmt.Sprintf("%.50s-%04d", t.ws.Metadata.Name, i)
		ws.Metadata.Namespace = fmt.Sprintf("bench-%02d", i%20)
		var comps []*workspaces.Companion
		for _, c := range t.companions {
			cc := *c
			cc.Namespace, cc.Owners = ws.Metadata.Namespace, []string{ws.Key()}
			comps = append(comps, &cc)
		}
		out[i] = loaded{&ws, comps}
	}
	return out
}

// BenchmarkRender1000 renders 1,000 workspaces cold (a new Renderer: every one is built by krusty),
// warm (the same Renderer again: every one is a cache hit), and, in the same run, runs the kustomize
// CLI over the same overlays written to disk. Each reports ms/workspace; the comparison is logged.
//
//	go test ./render -run '^$' -bench Render1000 -benchtime 1x
func BenchmarkRender1000(b *testing.B) {
	set := benchSet(b, benchWorkspaces)
	cat := presets.Default()
	src := Source{Path: "bench.yaml", Commit: testCommit}
	perWS := map[string]time.Duration{}
	report := func(b *testing.B, name string) {
		d := b.Elapsed() / time.Duration(b.N*len(set))
		b.ReportMetric(float64(d.Microseconds())/1000, "ms/workspace")
		b.ReportMetric(0, "ns/op") // the per-workspace figure is the one that matters
		perWS[name] = d
	}
	renderAll := func(b *testing.B, r *Renderer) []*Result {
		out := make([]*Result, len(set))
		for i, l := range set {
			res, err := r.Render(l.ws, l.companions, src)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = res
		}
		return out
	}

	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			renderAll(b, New(cat))
		}
		report(b, "cold")
	})

	warm := New(cat)
	results := renderAll(b, warm)
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			renderAll(b, warm)
		}
		report(b, "warm")
	})

	b.Run("kustomize-cli", func(b *testing.B) {
		bin := kustomizetest.Path()
		if bin == "" {
			b.Skip("no kustomize CLI: run hack/kustomize.sh (or set KAITO_SYNC_KUSTOMIZE)")
		}
		dir := b.TempDir()
		for _, res := range results {
			kustomizetest.WriteFiles(b, dir, res.Overlay)
		}
		for b.Loop() {
			for _, res := range results {
				if out, err := exec.Command(bin, "build", filepath.Join(dir, res.OverlayDir())).CombinedOutput(); err != nil {
					b.Fatalf("kustomize build %s: %v\n%s", res.OverlayDir(), err, out)
				}
			}
		}
		report(b, "kustomize-cli")
	})

	// Printed, not logged: a parent benchmark's log is not shown once its sub-benchmarks ran.
	cold, warmD, cli := perWS["cold"], perWS["warm"], perWS["kustomize-cli"]
	if cold > 0 && warmD > 0 {
		fmt.Printf("per workspace (%d workspaces): kaito-sync cold %v, warm %v (cache hits %.0f× faster)\n",
			len(set), cold.Round(time.Microsecond), warmD.Round(time.Microsecond), float64(cold)/float64(warmD))
	}
	if cold > 0 && warmD > 0 && cli > 0 {
		fmt.Printf("per workspace: kustomize CLI %v: %.1f× kaito-sync cold, %.0f× kaito-sync warm\n",
			cli.Round(time.Microsecond), float64(cli)/float64(cold), float64(cli)/float64(warmD))
	}
}
