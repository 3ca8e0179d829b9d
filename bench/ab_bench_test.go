package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/apply"
)

// BenchmarkApplyVsFloor applies 1,000 rendered workspaces with kaito-sync's applier (no render,
// no Git) and the same objects with the floor, alternating twice, so the applier's own cost is
// seen apart from the rest of a sync and from the machine's load.
//
//	go test ./bench -run '^$' -bench ApplyVsFloor -benchtime 1x
func BenchmarkApplyVsFloor(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	var ks, fs []time.Duration
	for round := range 2 {
		Settle(ctx, env.Client, 90*time.Second)
		d, _ := floorRun(b, n, fmt.Sprintf("ab%d", round))
		fs = append(fs, d)
		Settle(ctx, env.Client, 90*time.Second)
		files, _ := Generate(Options{N: n, Prefix: fmt.Sprintf("a%s-%d", run, round)})
		fleet, err := LoadFleet(files)
		if err != nil {
			b.Fatal(err)
		}
		r := render.New(presets.Default())
		var wss []apply.Workspace
		for _, l := range fleet {
			res, err := r.Objects(l.WS, l.Companions, render.Source{Path: l.WS.Source.Path, Commit: "c0ffee"})
			if err != nil {
				b.Fatal(err)
			}
			wss = append(wss, apply.Workspace{Key: l.WS.Key(), Objects: res.Objects})
		}
		m, err := apply.New(env.Config, apply.Options{Root: apply.RootID("ab", run, fmt.Sprint(round))})
		if err != nil {
			b.Fatal(err)
		}
		mctx, cancel := context.WithCancel(ctx)
		if err := m.Start(mctx); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		cs := m.ApplyAll(ctx, wss)
		ks = append(ks, time.Since(t0))
		cancel()
		if cs.Failed() {
			b.Fatal(cs.Summary())
		}
	}
	k, f := (ks[0]+ks[1])/2, (fs[0]+fs[1])/2
	b.ReportMetric(secs(k), "s/kaito-apply")
	b.ReportMetric(secs(f), "s/floor")
	b.ReportMetric(secs(k)/secs(f), "ratio-vs-floor")
	b.ReportMetric(0, "ns/op")
	record("apply alone (rendered), 1,000 workspaces, alternating with the floor",
		fmt.Sprintf("%.2f s = %.2f× floor (kaito-sync %.2f, %.2f s; floor %.2f, %.2f s)", secs(k), secs(k)/secs(f), secs(ks[0]), secs(ks[1]), secs(fs[0]), secs(fs[1])),
		"—", "go test ./bench -run '^$' -bench ApplyVsFloor -benchtime 1x")
}
