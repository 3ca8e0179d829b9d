package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing/fstest"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// Counter counts the requests a client makes: reads (GET, LIST), watches, and writes (everything
// else). Install it with Wrap.
type Counter struct{ reads, watches, writes atomic.Int64 }

// Wrap returns a copy of cfg whose requests c counts.
func (c *Counter) Wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingRT{c, rt} })
	return cfg
}

// Reset zeroes the counts.
func (c *Counter) Reset() { c.reads.Store(0); c.watches.Store(0); c.writes.Store(0) }

// Counts are reads, writes and watches started since the last Reset.
func (c *Counter) Counts() (reads, writes, watches int64) {
	return c.reads.Load(), c.writes.Load(), c.watches.Load()
}

type countingRT struct {
	c  *Counter
	rt http.RoundTripper
}

func (t countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case r.Method == http.MethodGet && r.URL.Query().Get("watch") == "true":
		t.c.watches.Add(1)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		t.c.reads.Add(1)
	default:
		t.c.writes.Add(1)
	}
	return t.rt.RoundTrip(r)
}

// Loaded is one valid workspace of a fleet with the companions it references.
type Loaded struct {
	WS         *workspaces.Workspace
	Companions []*workspaces.Companion
}

// LoadFleet loads and checks files (as Generate makes them) the way a sync does.
func LoadFleet(files map[string]string) ([]Loaded, error) {
	fsys := fstest.MapFS{}
	for p, c := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(c)}
	}
	set, err := workspaces.Load(fsys, ".", workspaces.Options{})
	if err != nil {
		return nil, err
	}
	workspaces.Check(set, presets.Default(), workspaces.CheckOptions{})
	if set.Problems.HasErrors() {
		return nil, fmt.Errorf("generated fleet is invalid: %v", set.Problems)
	}
	comps := map[string]*workspaces.Companion{}
	for _, c := range set.Companions {
		comps[c.Key()] = c
	}
	var out []Loaded
	for _, ws := range set.Valid() {
		l := Loaded{WS: ws}
		for _, ref := range workspaces.References(ws) {
			if c := comps[ref]; c != nil {
				l.Companions = append(l.Companions, c)
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// RenderFleet loads, checks and renders files, and returns every object with the labels and
// annotations kaito-sync would add, for the floor and kubectl to apply the same objects.
func RenderFleet(files map[string]string, commit string) ([]*unstructured.Unstructured, error) {
	fleet, err := LoadFleet(files)
	if err != nil {
		return nil, err
	}
	r := render.New(presets.Default())
	var objs []*unstructured.Unstructured
	for _, l := range fleet {
		res, err := r.Render(l.WS, l.Companions, render.Source{Path: l.WS.Source.Path, Commit: commit})
		if err != nil {
			return nil, err
		}
		for _, o := range res.Objects {
			lb := o.GetLabels()
			lb[ownership.LabelSyncRoot] = "floor"
			o.SetLabels(lb)
			a := o.GetAnnotations()
			a[ownership.AnnotationHash] = apply.Hash(o)
			a[ownership.AnnotationRecreateKey] = workspaces.ImmutableKey(l.WS)
			o.SetAnnotations(a)
			objs = append(objs, o)
		}
	}
	return objs, nil
}

var resources = map[string]schema.GroupVersionResource{
	"ConfigMap":             {Version: "v1", Resource: "configmaps"},
	"Secret":                {Version: "v1", Resource: "secrets"},
	"PersistentVolumeClaim": {Version: "v1", Resource: "persistentvolumeclaims"},
	"Service":               {Version: "v1", Resource: "services"},
	"StatefulSet":           {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"Deployment":            {Group: "apps", Version: "v1", Resource: "deployments"},
	"Job":                   {Group: "batch", Version: "v1", Resource: "jobs"},
}

// EnsureNamespaces creates the objects' namespaces (the floor and kubectl need them first).
func EnsureNamespaces(ctx context.Context, client kubernetes.Interface, objs []*unstructured.Unstructured) error {
	seen := map[string]bool{}
	for _, o := range objs {
		ns := o.GetNamespace()
		if seen[ns] {
			continue
		}
		seen[ns] = true
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if _, err := client.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// Floor is the plainest fast way to put objs in a cluster: a forced server-side apply of each, as
// parallel as workers allows, no rate limit, no reads, nothing else. It returns the wall time.
func Floor(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured, workers int) (time.Duration, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = -1, 0, nil
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	next := make(chan *unstructured.Unstructured)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range next {
				gvr := resources[o.GetKind()]
				_, err := dyn.Resource(gvr).Namespace(o.GetNamespace()).Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "floor", Force: true})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, o := range objs {
		next <- o
	}
	close(next)
	wg.Wait()
	return time.Since(start), firstErr
}

// KubectlApply runs `kubectl apply --server-side` over a file of the objects and returns the wall
// time.
func KubectlApply(ctx context.Context, kubectl, kubeconfig string, objs []*unstructured.Unstructured) (time.Duration, error) {
	b, err := render.MarshalObjects(objs)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp("", "kaito-sync-bench-*.yaml")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		return 0, err
	}
	f.Close()
	start := time.Now()
	out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side",
		"--field-manager", "kubectl-bench", "-f", f.Name()).CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("kubectl: %v: %s", err, lastLines(string(out), 5))
	}
	return d, nil
}

// Run is one run of a program: wall time, peak resident set and output.
type Run struct {
	Wall      time.Duration
	PeakRSSKB int64
	// PeakAnonKB and PeakFileKB split the resident set as sampled from /proc while it ran (every
	// 10 ms, so they may miss a short peak): anonymous memory (heap, stacks) and file pages, which
	// are the binary's own code and read-only data mapped from disk.
	PeakAnonKB, PeakFileKB int64
	Output                 string
}

// RunProcess runs bin to completion and reads its peak RSS from the kernel's rusage.
func RunProcess(ctx context.Context, bin string, args, env []string) (Run, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Run{}, err
	}
	sampled := make(chan [2]int64)
	done := make(chan struct{})
	go func() { sampled <- sampleRSS(cmd.Process.Pid, done) }()
	err := cmd.Wait()
	close(done)
	peaks := <-sampled
	r := Run{Wall: time.Since(start), Output: out.String(), PeakAnonKB: peaks[0], PeakFileKB: peaks[1]}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.PeakRSSKB = ru.Maxrss // KiB on Linux
		}
	}
	if err != nil {
		return r, fmt.Errorf("%s: %v: %s", bin, err, lastLines(r.Output, 10))
	}
	return r, nil
}

// sampleRSS reads RssAnon and RssFile of pid until done closes and returns their highest values.
func sampleRSS(pid int, done <-chan struct{}) [2]int64 {
	var peak [2]int64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for line := range strings.Lines(string(b)) {
				for i, field := range []string{"RssAnon:", "RssFile:"} {
					if rest, ok := strings.CutPrefix(line, field); ok {
						var kb int64
						fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
						peak[i] = max(peak[i], kb)
					}
				}
			}
		}
		select {
		case <-done:
			return peak
		case <-tick.C:
		}
	}
}

// Settle waits until the controllers are done with what the last measurement created (the pods of
// its StatefulSets and Jobs), so it does not eat into the next one: until the number of pods has
// not changed for three seconds, at most limit.
func Settle(ctx context.Context, client kubernetes.Interface, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last, same := int64(-1), 0
	for time.Now().Before(deadline) && same < 3 {
		list, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return
		}
		n := int64(len(list.Items))
		if list.RemainingItemCount != nil {
			n += *list.RemainingItemCount
		}
		if n == last {
			same++
		} else {
			same = 0
		}
		last = n
		time.Sleep(time.Second)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
