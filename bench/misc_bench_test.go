package bench

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/render/kustomizetest"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

// BenchmarkRender renders a fleet of 1,000 workspaces per workspace: cold (a new renderer), warm
// (every one a cache hit), cold with every workspace its own shape (the worst case: a krusty build
// each), and the kustomize CLI over the same overlays written to disk (100 of them: it forks).
//
//	go test ./bench -run '^$' -bench Render -benchtime 1x
func BenchmarkRender(b *testing.B) {
	const n = 1000
	load := func(o Options) []Loaded {
		files, _ := Generate(o)
		fleet, err := LoadFleet(files)
		if err != nil {
			b.Fatal(err)
		}
		return fleet
	}
	mixed, unique := load(Options{N: n}), load(Options{N: n, Unique: true})
	src := render.Source{Path: "fleet.yaml", Commit: "c0ffee"}
	renderAll := func(r *render.Renderer, fleet []Loaded) ([]*render.Result, time.Duration) {
		out := make([]*render.Result, len(fleet))
		start := time.Now()
		for i, l := range fleet {
			res, err := r.Render(l.WS, l.Companions, src)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = res
		}
		return out, time.Since(start) / time.Duration(len(fleet))
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

	warmR := render.New(presets.Default())
	results, cold := renderAll(warmR, mixed)
	var warms []time.Duration
	for range 5 {
		_, w := renderAll(warmR, mixed)
		warms = append(warms, w)
	}
	slices.Sort(warms)
	warm := warms[2]
	_, uniq := renderAll(render.New(presets.Default()), unique)

	var cli time.Duration
	if bin := kustomizetest.Path(); bin != "" {
		dir := b.TempDir()
		var sample []*render.Result
		for i := 0; i < len(results); i += 10 {
			sample = append(sample, results[i])
			kustomizetest.WriteFiles(b, dir, results[i].Overlay)
		}
		start := time.Now()
		for _, res := range sample {
			if out, err := exec.Command(bin, "build", filepath.Join(dir, res.OverlayDir())).CombinedOutput(); err != nil {
				b.Fatalf("kustomize build %s: %v\n%s", res.OverlayDir(), err, out)
			}
		}
		cli = time.Since(start) / time.Duration(len(sample))
	}
	b.ReportMetric(ms(cold), "ms/ws-cold")
	b.ReportMetric(ms(warm), "ms/ws-warm")
	b.ReportMetric(ms(uniq), "ms/ws-cold-unique")
	b.ReportMetric(0, "ns/op")
	cmd := "go test ./bench -run '^$' -bench Render -benchtime 1x"
	record("render per workspace, cold (1,000 mixed; shapes shared by name)", fmt.Sprintf("%.2f ms", ms(cold)), "—", cmd)
	record("render per workspace, cold, every workspace its own shape", fmt.Sprintf("%.2f ms", ms(uniq)), "—", cmd)
	if cli > 0 {
		b.ReportMetric(ms(cli), "ms/ws-kustomize-cli")
		b.ReportMetric(float64(cli)/float64(warm), "cli-vs-warm")
		record("render per workspace, warm (cache)", fmt.Sprintf("%.3f ms = %.0f× faster than the kustomize CLI (%.1f ms)", ms(warm), float64(cli)/float64(warm), ms(cli)),
			"≥ 20× faster than the CLI", cmd)
	} else {
		record("render per workspace, warm (cache)", fmt.Sprintf("%.3f ms (no kustomize CLI: run hack/kustomize.sh)", ms(warm)), "≥ 20× faster than the CLI", cmd)
	}
}

// BenchmarkPeakRSS runs the kaito-sync binary, `sync --once`, as users run it, and reads its peak
// resident set: a cold sync of 1,000 workspaces from the Git server into the cluster, and
// render-only syncs (--target dir) of 1,000 and 10,000 workspaces from a folder.
//
//	go test ./bench -run '^$' -bench PeakRSS -benchtime 1x
func BenchmarkPeakRSS(b *testing.B) {
	bin, err := testenv.KaitoSyncBinary()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cmd := "go test ./bench -run '^$' -bench PeakRSS -benchtime 1x"
	mib := func(kb int64) float64 { return float64(kb) / 1024 }

	// Each run has the cluster to itself (hack/bench.sh runs PeakRSS on a control plane of its
	// own, and each fleet is removed after its run): the status reporter watches every kaito-sync
	// pod of the cluster, whatever its sync root, so another fleet's pods would weigh on it.
	clusterRuns := []struct {
		name   string
		status bool
		env    []string
	}{
		{"cluster-1000", false, nil},
		{"cluster-1000-with-status", true, nil},
		// The Go runtime's soft memory limit, as a deployment sets it from the container's limit:
		// the heap may grow to twice what is live between collections without it.
		{"cluster-1000-gomemlimit-100MiB", false, []string{"GOMEMLIMIT=100MiB"}},
	}
	for i, cr := range clusterRuns {
		status := cr.status
		b.Run(cr.name, func(b *testing.B) {
			Settle(ctx, env.Client, 90*time.Second)
			f := newFleet(b, Options{N: 1000, Prefix: fmt.Sprintf("m%s-%d", run, i)})
			defer f.remove(b) // the next run measures a cluster of 1,000 workspaces, not 2,000
			pw := filepath.Join(b.TempDir(), "password")
			if err := os.WriteFile(pw, []byte(f.srv.Password), 0o600); err != nil {
				b.Fatal(err)
			}
			r, err := RunProcess(ctx, bin, []string{"sync", "--once", "--repo", f.srv.RepoURL("fleet"), "--path", "workspaces",
				"--kubeconfig", env.Kubeconfig, "--git-username", f.srv.User, "--git-password-file", pw,
				fmt.Sprintf("--status=%t", status)}, cr.env)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(mib(r.PeakRSSKB), "MiB-peak-RSS")
			b.ReportMetric(mib(r.PeakAnonKB), "MiB-peak-anon")
			b.ReportMetric(mib(r.PeakFileKB), "MiB-peak-file")
			b.ReportMetric(secs(r.Wall), "s/process")
			b.ReportMetric(0, "ns/op")
			what := map[bool]string{false: "(--status=false)", true: "with the status branch (default)"}[status]
			if len(cr.env) > 0 {
				what += ", " + strings.Join(cr.env, " ")
			}
			record("peak RSS, `sync --once` of 1,000 workspaces into the cluster "+what,
				fmt.Sprintf("%.0f MiB: %.0f MiB anonymous (heap, stacks), %.0f MiB the binary's mapped pages (process %.1f s)",
					mib(r.PeakRSSKB), mib(r.PeakAnonKB), mib(r.PeakFileKB), secs(r.Wall)), map[bool]string{false: "≤ 150 MiB", true: "—"}[status], cmd)
		})
	}
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("render-only-%d", n), func(b *testing.B) {
			files, _ := Generate(Options{N: n})
			dir := writeFleet(b, files)
			r, err := RunProcess(ctx, bin, []string{"sync", "--once", "--repo", dir, "--path", "workspaces",
				"--target", "dir", "--out", filepath.Join(b.TempDir(), "out")}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(mib(r.PeakRSSKB), "MiB-peak-RSS")
			b.ReportMetric(mib(r.PeakAnonKB), "MiB-peak-anon")
			b.ReportMetric(secs(r.Wall), "s/process")
			b.ReportMetric(0, "ns/op")
			record(fmt.Sprintf("peak RSS, render-only `sync --once --target dir` of %d workspaces", n),
				fmt.Sprintf("%.0f MiB (process %.1f s)", mib(r.PeakRSSKB), secs(r.Wall)), map[bool]string{true: "≤ 150 MiB", false: "—"}[n == 1000], cmd)
		})
	}
}

// BenchmarkGitFetch compares go-git (kaito-sync's source: in memory, depth 1) with the git CLI
// (a bare depth-1 clone on disk) on the same repository of 1,000 workspaces: the clone, then 10
// incremental fetches of a one-file push each.
//
//	go test ./bench -run '^$' -bench GitFetch -benchtime 1x
func BenchmarkGitFetch(b *testing.B) {
	ctx := context.Background()
	f := newFleet(b, Options{N: 1000, Prefix: "git"})
	src := f.source()
	u, _ := url.Parse(f.srv.RepoURL("fleet"))
	u.User = url.UserPassword(f.srv.User, f.srv.Password) // loopback only
	dir := filepath.Join(b.TempDir(), "clone.git")
	git := func(args ...string) time.Duration {
		c := exec.Command("git", args...)
		c.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
		start := time.Now()
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args[0], err, out)
		}
		return time.Since(start)
	}
	start := time.Now()
	if _, err := src.Fetch(ctx); err != nil {
		b.Fatal(err)
	}
	goClone := time.Since(start)
	cliClone := git("clone", "--quiet", "--bare", "--depth", "1", "--single-branch", "--branch", "main", u.String(), dir)

	var goF, cliF []time.Duration
	for i := range 10 {
		w := f.wss[i*37%len(f.wss)]
		if _, err := f.srv.Commit("fleet", "main", map[string]string{w.Path: f.files[w.Path] + fmt.Sprintf("# edit %d\n", i)}, "edit"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := src.Fetch(ctx); err != nil {
			b.Fatal(err)
		}
		goF = append(goF, time.Since(start))
		cliF = append(cliF, git("-C", dir, "fetch", "--quiet", "--depth", "1", "origin", "+refs/heads/main:refs/heads/main"))
	}
	slices.Sort(goF)
	slices.Sort(cliF)
	g, c := goF[len(goF)/2], cliF[len(cliF)/2]
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(g), "ms/fetch-go-git")
	b.ReportMetric(ms(c), "ms/fetch-git-cli")
	b.ReportMetric(ms(goClone), "ms/clone-go-git")
	b.ReportMetric(ms(cliClone), "ms/clone-git-cli")
	b.ReportMetric(0, "ns/op")
	cmd := "go test ./bench -run '^$' -bench GitFetch -benchtime 1x"
	record("incremental Git fetch, one-file push on 1,000 workspaces (median of 10)",
		fmt.Sprintf("go-git %.1f ms, git CLI %.1f ms (%.2f×)", ms(g), ms(c), float64(g)/float64(c)), "—", cmd)
	record("Git clone (depth 1) of 1,000 workspaces", fmt.Sprintf("go-git %.0f ms (in memory), git CLI %.0f ms (bare, on disk)", ms(goClone), ms(cliClone)), "—", cmd)
}
