package plan

import (
	"fmt"
	"testing"
	"time"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
)

// BenchmarkPlan1000OneChanged plans 1,000 workspaces of which one gains an adapter. Workspaces
// whose render input hash is equal on both sides are not rendered at all, so only the changed one
// is built, once per side:
//
//   - cold: a new Renderer per plan, as one `kaito-sync plan` run;
//
//   - warm: the Renderer kept across plans (a long-running process planning pull request after
//     pull request): the changed workspace is a cache hit too.
//
//     go test ./sync/plan -run '^$' -bench Plan1000OneChanged -benchtime 5x
func BenchmarkPlan1000OneChanged(b *testing.B) {
	cat := presets.Default()
	base, head := map[string]string{}, map[string]string{}
	skus := []string{v100, v100x2}
	for i := range 1000 {
		name := fmt.Sprintf("ws-%04d", i)
		f := fmt.Sprintf("team-%02d/%s.yaml", i%20, name)
		base[f] = phi3(name, skus[i%2], mini, "")
		head[f] = base[f]
	}
	head["team-07/ws-0007.yaml"] = phi3("ws-0007", skus[1], mini, "adapter-phi3")
	bs, hs := snap("base", base), snap("head", head)

	check := func(b *testing.B, p *Plan) {
		if p.Summary != (Summary{Changed: 1, Unchanged: 999}) {
			b.Fatalf("summary %+v", p.Summary)
		}
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/plan")
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			p, err := Compute(bs, hs, cat, Options{Renderer: render.New(cat)})
			if err != nil {
				b.Fatal(err)
			}
			check(b, p)
		}
		report(b)
	})
	b.Run("warm", func(b *testing.B) {
		r := render.New(cat)
		start := time.Now()
		if _, err := Compute(bs, hs, cat, Options{Renderer: r}); err != nil {
			b.Fatal(err)
		}
		b.Logf("priming plan: %v", time.Since(start))
		for b.Loop() {
			p, err := Compute(bs, hs, cat, Options{Renderer: r})
			if err != nil {
				b.Fatal(err)
			}
			check(b, p)
		}
		report(b)
	})
}
