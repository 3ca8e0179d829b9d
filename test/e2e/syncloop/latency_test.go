package syncloop

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/kaito-sync/kaito-sync/presets"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/sync/trigger"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// BenchmarkWebhookPushToApplied measures the time from a finished `git push` to the changed
// object in the cluster, with the webhook trigger, on a repository of 100 workspaces: 20 pushes,
// each changing one workspace. Run with -benchtime=1x:
//
//	go test ./test/e2e/syncloop -run x -bench WebhookPushToApplied -benchtime=1x
func BenchmarkWebhookPushToApplied(b *testing.B) {
	const workspaces, pushes = 100, 20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := env.NewNamespace(b)
	srv := gitserver.New(b, gitserver.Options{})
	if _, err := srv.CreateRepo("fleet"); err != nil {
		b.Fatal(err)
	}
	files := map[string]string{}
	for i := range workspaces {
		files[fmt.Sprintf("workspaces/ws-%03d.yaml", i)] = workspaceN(ns, i, "0.5")
	}
	if _, err := srv.Commit("fleet", "main", files, "100 workspaces"); err != nil {
		b.Fatal(err)
	}
	m, err := apply.New(env.Config, apply.Options{Root: apply.RootID(b.Name())})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	src := source.NewGit(source.GitOptions{URL: srv.RepoURL("fleet"), Path: "workspaces", Auth: srv.Auth()})
	rec := ksync.NewReconciler(src, ksync.Cluster{M: m}, presets.Default(), ksync.Options{Logger: slog.New(slog.DiscardHandler)})
	secret := []byte("bench-secret")
	hook := trigger.NewWebhook(secret, "main", nil)
	hookSrv := httptest.NewServer(hook) // loopback
	defer hookSrv.Close()
	synced := make(chan *ksync.Result, 16)
	go rec.Run(ctx, hook.C, func(r *ksync.Result, err error) {
		if err != nil {
			b.Error(err)
		}
		synced <- r
	})
	first := <-synced // the initial sync of all 100
	b.Logf("initial sync of %d workspaces: %s (%s)", workspaces, first.Duration.Round(time.Millisecond), first.Changes.Summary())

	for n := 0; n < b.N; n++ {
		var lat []time.Duration
		for i := range pushes {
			ws := (i * 7) % workspaces
			strength := fmt.Sprintf("0.%d%d", n%10, i%10)
			if _, err := srv.Commit("fleet", "main", map[string]string{fmt.Sprintf("workspaces/ws-%03d.yaml", ws): workspaceN(ns, ws, strength)}, "tune"); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			gitserver.MustDeliverPush(b, hookSrv.URL, secret, "main")
			env.WaitAdapterStrength(b, ns, fmt.Sprintf("ws-%03d", ws), strength, 30*time.Second)
			lat = append(lat, time.Since(start))
			for len(synced) > 0 {
				<-synced
			}
		}
		slices.Sort(lat)
		p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
		b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
		b.ReportMetric(float64(p95.Milliseconds()), "p95-ms")
		b.Logf("push → applied over %d pushes on %d workspaces: p50 %s, p95 %s, max %s", pushes, workspaces, p50, p95, lat[len(lat)-1])
	}
}

func workspaceN(ns string, i int, strength string) string {
	return fmt.Sprintf(`apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws-%03d
  namespace: %s
resource:
  instanceType: Standard_NC6s_v3
  labelSelector:
    matchLabels:
      apps: bench
inference:
  preset:
    name: phi-3-mini-4k-instruct
  adapters:
    - source:
        name: tone
        image: myregistry.azurecr.io/adapters/tone:0.1.0
      strength: "%s"
`, i, ns, strength)
}
