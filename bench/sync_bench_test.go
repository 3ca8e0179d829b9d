package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kaito-sync/kaito-sync/presets"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/sync/trigger"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

// run makes namespace prefixes unique to this process, so -count=2 and reruns against a kept
// cluster never meet objects of an earlier run.
var run = fmt.Sprintf("%x", time.Now().Unix()%0xfff)

// fleet is a generated repository on a loopback Git server and, once synced, the kaito-sync that
// synced it (library, in this process) with a request counter on its client.
type fleet struct {
	opts    Options
	files   map[string]string
	wss     []Workspace
	srv     *gitserver.Server
	counter Counter
	m       *apply.Manager
	rec     *ksync.Reconciler
	cancel  context.CancelFunc
}

func newFleet(b *testing.B, o Options) *fleet {
	b.Helper()
	f := &fleet{opts: o}
	f.files, f.wss = Generate(o)
	f.srv = gitserver.New(b, gitserver.Options{})
	if _, err := f.srv.CreateRepo("fleet"); err != nil {
		b.Fatal(err)
	}
	if _, err := f.srv.Commit("fleet", "main", f.files, "fleet"); err != nil {
		b.Fatal(err)
	}
	return f
}

// remove deletes the fleet's namespaces and waits until they are gone, so a later measurement
// does not pay for this fleet's objects and Pending pods (the status reporter watches every
// kaito-sync pod of the cluster, whatever its sync root).
func (f *fleet) remove(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	nss := map[string]bool{}
	for _, w := range f.wss {
		nss[w.Namespace] = true
	}
	for ns := range nss {
		if err := env.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			b.Fatal(err)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		for ns := range nss {
			if _, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		b.Fatalf("the fleet's namespaces were not deleted: %v", err)
	}
}

func (f *fleet) source() *source.Git {
	return source.NewGit(source.GitOptions{URL: f.srv.RepoURL("fleet"), Path: "workspaces", Auth: f.srv.Auth()})
}

// sync starts a kaito-sync on the fleet as a new process would (its watches, a cold render
// cache) and syncs once.
func (f *fleet) sync(b *testing.B) *ksync.Result {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if f.cancel != nil {
		f.cancel()
	}
	f.cancel = cancel
	b.Cleanup(cancel)
	m, err := apply.New(f.counter.Wrap(env.Config), apply.Options{Root: apply.RootID("bench", run, f.opts.Prefix)})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	f.m = m
	f.rec = ksync.NewReconciler(f.source(), ksync.Cluster{M: m}, presets.Default(), ksync.Options{Logger: slog.New(slog.DiscardHandler)})
	return f.syncOnce(b)
}

func (f *fleet) syncOnce(b *testing.B) *ksync.Result {
	b.Helper()
	res, err := f.rec.SyncOnce(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if res.Failed() {
		for _, c := range res.Changes.Entries {
			if c.Err != nil {
				b.Fatal(c.Err)
			}
		}
		b.Fatalf("sync failed: %v %v", res.Set.Problems, res.RenderErrors)
	}
	return res
}

func secs(d time.Duration) float64 { return d.Seconds() }

// floorAndKubectl applies the fleet's objects (rendered, in their own namespaces) with the floor
// and with kubectl; ctx is for kubectl.
func floorRun(b *testing.B, n int, tag string) (time.Duration, int) {
	b.Helper()
	files, _ := Generate(Options{N: n, Prefix: fmt.Sprintf("f%s%s-%d", tag, run, n)})
	objs, err := RenderFleet(files, "c0ffee")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := EnsureNamespaces(ctx, env.Client, objs); err != nil {
		b.Fatal(err)
	}
	d, err := Floor(ctx, env.Config, objs, 32)
	if err != nil {
		b.Fatal(err)
	}
	return d, len(objs)
}

func kubectlRun(b *testing.B, n int) time.Duration {
	b.Helper()
	files, _ := Generate(Options{N: n, Prefix: fmt.Sprintf("u%s-%d", run, n)})
	objs, err := RenderFleet(files, "c0ffee")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := EnsureNamespaces(ctx, env.Client, objs); err != nil {
		b.Fatal(err)
	}
	d, err := KubectlApply(ctx, filepath.Join(testenv.BinDir(), "kubectl"), env.Kubeconfig, objs)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// coldCompare syncs a new fleet of n workspaces into an empty part of the cluster and, in the same
// run, applies the same objects with the floor (before and after, averaged, to cancel drift) and
// kubectl. It returns the synced fleet.
func coldCompare(b *testing.B, n int, withKubectl bool) *fleet {
	ctx := context.Background()
	settle := func() { Settle(ctx, env.Client, 90*time.Second) }
	settle()
	floor1, objects := floorRun(b, n, "a")
	settle()

	f := newFleet(b, Options{N: n, Prefix: fmt.Sprintf("k%s-%d", run, n)})
	f.counter.Reset()
	start := time.Now()
	res := f.sync(b)
	cold := time.Since(start)
	reads, writes, _ := f.counter.Counts()
	if got := res.Changes.Count(apply.Created); got != objects {
		b.Fatalf("cold sync created %d objects, the floor applied %d", got, objects)
	}
	settle()

	var kubectl time.Duration
	if withKubectl {
		kubectl = kubectlRun(b, n)
		settle()
	}
	floor2, _ := floorRun(b, n, "b")
	floor := (floor1 + floor2) / 2

	b.ReportMetric(secs(cold), "s/cold-sync")
	b.ReportMetric(secs(floor), "s/floor")
	b.ReportMetric(secs(cold)/secs(floor), "ratio-vs-floor")
	b.ReportMetric(float64(objects), "objects")
	b.ReportMetric(float64(reads), "reads")
	b.ReportMetric(float64(writes), "writes")
	b.ReportMetric(0, "ns/op")
	cmd := fmt.Sprintf("go test ./bench -run '^$' -bench 'ColdSync/N=%d$' -benchtime 1x", n)
	record(fmt.Sprintf("cold sync, %d workspaces (%d objects, render included)", n, objects),
		fmt.Sprintf("%.2f s = %.2f× floor (floor %.2f s: %.2f s before, %.2f s after); %d reads, %d writes",
			secs(cold), secs(cold)/secs(floor), secs(floor), secs(floor1), secs(floor2), reads, writes),
		map[bool]string{true: "≤ 1.5× floor", false: "—"}[n == 1000], cmd)
	if withKubectl {
		b.ReportMetric(secs(kubectl), "s/kubectl")
		b.ReportMetric(secs(kubectl)/secs(floor), "kubectl-ratio-vs-floor")
		record(fmt.Sprintf("`kubectl apply --server-side`, same %d objects", objects),
			fmt.Sprintf("%.2f s = %.2f× floor; kaito-sync cold sync is %.2f× faster", secs(kubectl), secs(kubectl)/secs(floor), secs(kubectl)/secs(cold)),
			"—", cmd)
	}
	return f
}

// BenchmarkColdSync: a first sync of N workspaces (fetch, load, validate, render, create
// namespaces, apply every object) against the floor and kubectl on the same objects.
//
//	go test ./bench -run '^$' -bench ColdSync -benchtime 1x
func BenchmarkColdSync(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			f := coldCompare(b, n, true)
			f.cancel()
		})
	}
}

// BenchmarkFleet1000 syncs 1,000 workspaces, then measures a no-op resync (in the same process,
// and as a restarted process) with its requests, then push → applied over 20 webhook pushes.
//
//	go test ./bench -run '^$' -bench Fleet1000 -benchtime 1x
func BenchmarkFleet1000(b *testing.B) {
	const n = 1000
	f := newFleet(b, Options{N: n, Prefix: fmt.Sprintf("s%s", run)})
	f.sync(b)
	Settle(context.Background(), env.Client, 90*time.Second)

	b.Run("resync", func(b *testing.B) {
		var times []time.Duration
		var reads, writes, watches int64
		for range 5 {
			f.counter.Reset()
			start := time.Now()
			res := f.syncOnce(b)
			times = append(times, time.Since(start))
			r, w, wa := f.counter.Counts()
			reads, writes, watches = max(reads, r), max(writes, w), max(watches, wa)
			if res.Changes.Count(apply.Unchanged) != len(res.Changes.Entries) {
				b.Fatalf("a no-op resync changed something: %s", res.Changes.Summary())
			}
		}
		slices.Sort(times)
		med := times[len(times)/2]
		b.ReportMetric(secs(med), "s/resync")
		b.ReportMetric(float64(reads), "reads")
		b.ReportMetric(float64(writes), "writes")
		b.ReportMetric(0, "ns/op")
		record("no-op resync, 1,000 unchanged workspaces (median of 5)",
			fmt.Sprintf("%.3f s (min %.3f, max %.3f); %d reads, %d writes, %d watches", secs(med), secs(times[0]), secs(times[len(times)-1]), reads, writes, watches),
			"≤ 1 s, 0 writes", "go test ./bench -run '^$' -bench 'Fleet1000/resync' -benchtime 1x")
	})

	b.Run("restart", func(b *testing.B) {
		f.counter.Reset()
		start := time.Now()
		res := f.sync(b) // new manager, new render cache: what a restarted process does first
		d := time.Since(start)
		reads, writes, watches := f.counter.Counts()
		if res.Changes.Count(apply.Unchanged) != len(res.Changes.Entries) {
			b.Fatalf("a resync after restart changed something: %s", res.Changes.Summary())
		}
		b.ReportMetric(secs(d), "s/first-sync-after-restart")
		b.ReportMetric(float64(writes), "writes")
		b.ReportMetric(0, "ns/op")
		record("first sync after a restart, 1,000 unchanged workspaces (lists, cold render)",
			fmt.Sprintf("%.2f s; %d reads, %d writes, %d watches", secs(d), reads, writes, watches),
			"—", "go test ./bench -run '^$' -bench 'Fleet1000/restart' -benchtime 1x")
	})

	b.Run("push", func(b *testing.B) { pushToApplied(b, f) })
	f.cancel()
}

var strengthLine = regexp.MustCompile(`strength: "[^"]*"`)

// pushToApplied times 20 pushes, each changing one workspace's adapter strength, from the end of
// `git push` to the new value in the cluster, with the webhook trigger.
func pushToApplied(b *testing.B, f *fleet) {
	const pushes = 20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	secret := []byte("bench-secret")
	hook := trigger.NewWebhook(secret, "main", nil)
	hookSrv := httptest.NewServer(hook) // loopback
	defer hookSrv.Close()
	synced := make(chan *ksync.Result, 64)
	go f.rec.Run(ctx, hook.C, func(r *ksync.Result, err error) {
		if err != nil {
			b.Error(err)
		}
		synced <- r
	})
	<-synced // Run's first sync

	var targets []Workspace
	for _, w := range f.wss {
		if w.Variant == "phi3-adapter" {
			targets = append(targets, w)
		}
	}
	var lat []time.Duration
	for i := range pushes {
		w := targets[(i*7)%len(targets)]
		strength := fmt.Sprintf("0.%02d", 10+i)
		content := strengthLine.ReplaceAllString(f.files[w.Path], `strength: "`+strength+`"`)
		f.files[w.Path] = content
		if _, err := f.srv.Commit("fleet", "main", map[string]string{w.Path: content}, "tune"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		gitserver.MustDeliverPush(b, hookSrv.URL, secret, "main")
		env.WaitAdapterStrength(b, w.Namespace, w.Name, strength, 60*time.Second)
		lat = append(lat, time.Since(start))
		for len(synced) > 0 {
			<-synced
		}
	}
	slices.Sort(lat)
	p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
	b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p95.Milliseconds()), "p95-ms")
	b.ReportMetric(0, "ns/op")
	record("push → applied, 1 workspace changed in 1,000 (webhook, 20 pushes)",
		fmt.Sprintf("p50 %d ms, p95 %d ms, max %d ms", p50.Milliseconds(), p95.Milliseconds(), lat[len(lat)-1].Milliseconds()),
		"p50 ≤ 1 s", "go test ./bench -run '^$' -bench 'Fleet1000/push' -benchtime 1x")
}
