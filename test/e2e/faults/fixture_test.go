package faults

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/kaito-sync/kaito-sync/presets"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/test/e2e/fixtures"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// fixture is one test's namespace, Git repository ("fleet", workspaces under workspaces/) and a
// reconciler applying them to the control plane under a sync root of its own.
type fixture struct {
	t   *testing.T
	ns  string
	git *gitserver.Server
	m   *apply.Manager
	rec *ksync.Reconciler
}

type options struct {
	fetchTimeout time.Duration // source.GitOptions.Timeout
	keyRing      string        // source.GitOptions.KeyRing
	local        string        // a folder to sync, with source.Local, instead of the Git repository
	// transport wraps the apply manager's connection to the API server, to act between requests.
	transport func(http.RoundTripper) http.RoundTripper
}

func newFixture(t *testing.T, o options) *fixture {
	t.Helper()
	f := &fixture{t: t, ns: env.NewNamespace(t), git: gitserver.New(t, gitserver.Options{})}
	if _, err := f.git.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = o.transport
	m, err := apply.New(cfg, apply.Options{Root: apply.RootID(t.Name(), f.ns), DeleteTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f.m = m
	var src source.Source = source.NewGit(source.GitOptions{URL: f.git.RepoURL("fleet"), Path: "workspaces", Auth: f.git.Auth(),
		Timeout: o.fetchTimeout, KeyRing: o.keyRing})
	if o.local != "" {
		src = source.Local{Dir: o.local, Path: "workspaces"}
	}
	f.rec = ksync.NewReconciler(src, ksync.Cluster{M: m}, presets.Default(), ksync.Options{Logger: slog.New(slog.NewTextHandler(tlog{t}, nil))})
	return f
}

// tlog sends the reconciler's log to the test's.
type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// workspace is the quick-start phi-3 workspace renamed, in the test's namespace.
func (f *fixture) workspace(name string) string {
	return strings.NewReplacer("name: phi-3\n", "name: "+name+"\n", "NAMESPACE", f.ns).Replace(fixtures.Phi3Mini)
}

// files returns workspace files for names, as the repository holds them.
func (f *fixture) files(names ...string) map[string]string {
	files := map[string]string{}
	for _, n := range names {
		files["workspaces/"+n+".yaml"] = f.workspace(n)
	}
	return files
}

func (f *fixture) push(files map[string]string, msg string) string {
	f.t.Helper()
	h, err := f.git.Commit("fleet", "main", files, msg)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// sync syncs once and logs what changed.
func (f *fixture) sync() (*ksync.Result, error) {
	f.t.Helper()
	res, err := f.rec.SyncOnce(context.Background())
	for _, c := range res.Changes.Entries {
		f.t.Logf("%s: %s", c.Workspace, c)
	}
	if res.Set != nil {
		for _, p := range res.Set.Problems {
			f.t.Logf("problem: %s", p)
		}
	}
	return res, err
}

// syncOK syncs and fails the test unless everything synced.
func (f *fixture) syncOK() *ksync.Result {
	f.t.Helper()
	res, err := f.sync()
	if err != nil || res.Failed() {
		f.t.Fatalf("sync failed: %v (problems %v)", err, res.Set)
	}
	return res
}

// objects lists kaito-sync's objects in the namespace: "Kind/name" → UID. A UID that stays the same
// is an object that was never deleted and recreated.
func (f *fixture) objects() map[string]types.UID {
	f.t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: ownership.LabelManagedBy + "=" + ownership.ManagedBy}
	out := map[string]types.UID{}
	sts, err := env.Client.AppsV1().StatefulSets(f.ns).List(ctx, sel)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, o := range sts.Items {
		out["StatefulSet/"+o.Name] = o.UID
	}
	svcs, err := env.Client.CoreV1().Services(f.ns).List(ctx, sel)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, o := range svcs.Items {
		out["Service/"+o.Name] = o.UID
	}
	return out
}

// sameObjects fails unless every object of want is still there with the same UID.
func (f *fixture) sameObjects(want map[string]types.UID, what string) {
	f.t.Helper()
	got := f.objects()
	for k, uid := range want {
		switch g, ok := got[k]; {
		case !ok:
			f.t.Errorf("%s: %s was deleted", what, k)
		case g != uid:
			f.t.Errorf("%s: %s was recreated (UID %s → %s)", what, k, uid, g)
		}
	}
}

// perWorkspace is how many objects a quick-start workspace makes, as Kaito v0.12.0's operator
// creates them: the Service, the headless Service and the StatefulSet (objectsOf).
const perWorkspace = 3

// objectsOf returns the keys objects() gives a quick-start workspace's objects, for workspaces
// names, sorted.
func objectsOf(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, "Service/"+n, "Service/"+n+"-headless", "StatefulSet/"+n)
	}
	slices.Sort(out)
	return out
}

// keys lists objs' keys, sorted.
func keys(objs map[string]types.UID) []string { return slices.Sorted(maps.Keys(objs)) }

// forget removes the objects of workspaces names from objs: what a prune is expected to delete.
func forget(objs map[string]types.UID, names ...string) {
	for _, k := range objectsOf(names...) {
		delete(objs, k)
	}
}

// names lists the workspaces (StatefulSets) present.
func names(objs map[string]types.UID) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(objs)) {
		if n, ok := strings.CutPrefix(k, "StatefulSet/"); ok {
			out = append(out, n)
		}
	}
	return out
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}
