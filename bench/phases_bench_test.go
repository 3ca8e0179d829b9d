package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// BenchmarkColdPhases splits a cold sync of 1,000 workspaces into its phases, each timed alone:
// Git clone, load and validation, render (cold cache), and the apply of the rendered objects
// (namespaces included) at two concurrencies. It tells which phase stands between a cold sync and
// the floor.
//
//	go test ./bench -run '^$' -bench ColdPhases -benchtime 1x
func BenchmarkColdPhases(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	f := newFleet(b, Options{N: n, Prefix: fmt.Sprintf("p%s", run)})
	t0 := time.Now()
	snap, err := f.source().Fetch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	fetch := time.Since(t0)
	t0 = time.Now()
	set, err := workspaces.Load(snap.Tree, ".", workspaces.Options{PathPrefix: snap.Path})
	if err != nil {
		b.Fatal(err)
	}
	workspaces.Check(set, presets.Default(), workspaces.CheckOptions{})
	load := time.Since(t0)
	fleet, err := LoadFleet(f.files)
	if err != nil {
		b.Fatal(err)
	}
	t0 = time.Now()
	r := render.New(presets.Default())
	var wss []apply.Workspace
	for _, l := range fleet {
		res, err := r.Objects(l.WS, l.Companions, render.Source{Path: l.WS.Source.Path, Commit: snap.Commit})
		if err != nil {
			b.Fatal(err)
		}
		wss = append(wss, apply.Workspace{Key: l.WS.Key(), Objects: res.Objects})
	}
	rend := time.Since(t0)
	b.ReportMetric(secs(fetch), "s/fetch")
	b.ReportMetric(secs(load), "s/load+check")
	b.ReportMetric(secs(rend), "s/render-1-core")
	for _, conc := range []int{16, 64} {
		Settle(ctx, env.Client, 90*time.Second)
		fl := newFleet(b, Options{N: n, Prefix: fmt.Sprintf("p%s-c%d", run, conc)})
		fleet, _ := LoadFleet(fl.files)
		r := render.New(presets.Default())
		wss = wss[:0]
		for _, l := range fleet {
			res, _ := r.Objects(l.WS, l.Companions, render.Source{Path: l.WS.Source.Path, Commit: snap.Commit})
			wss = append(wss, apply.Workspace{Key: l.WS.Key(), Objects: res.Objects})
		}
		m, err := apply.New(env.Config, apply.Options{Root: apply.RootID("phases", run, fmt.Sprint(conc)), Concurrency: conc})
		if err != nil {
			b.Fatal(err)
		}
		mctx, cancel := context.WithCancel(ctx)
		if err := m.Start(mctx); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		cs := m.ApplyAll(ctx, wss)
		d := time.Since(t0)
		cancel()
		if cs.Failed() {
			b.Fatal(cs.Summary())
		}
		b.ReportMetric(secs(d), fmt.Sprintf("s/apply-c%d", conc))
	}
	b.ReportMetric(0, "ns/op")
}
