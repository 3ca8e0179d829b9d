package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	"github.com/matryer/is"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

// requestLog records the manager's requests as "METHOD path".
type requestLog struct {
	mu   sync.Mutex
	reqs []string
	rt   http.RoundTripper
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
	l.mu.Unlock()
	return l.rt.RoundTrip(r)
}

// count is the number of requests with that method whose path is path, or starts with it when
// path ends in "/".
func (l *requestLog) count(method, path string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		p, ok := strings.CutPrefix(r, method+" ")
		if ok && (p == path || strings.HasSuffix(path, "/") && strings.HasPrefix(p, path)) {
			n++
		}
	}
	return n
}

func cmPath(ns string) string { return "/api/v1/namespaces/" + ns + "/configmaps" }

func countingManager(t *testing.T) (*Manager, *requestLog) {
	t.Helper()
	log := &requestLog{}
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { log.rt = rt; return log })
	m, err := New(cfg, Options{Root: RootID(t.Name())})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return m, log
}

func configMapWorkspaces(t *testing.T, ns string, n int) []Workspace {
	var wss []Workspace
	for i := range n {
		name := fmt.Sprintf("ws-%d", i)
		wss = append(wss, Workspace{Key: ns + "/" + name, Objects: []*unstructured.Unstructured{configMap(t, ns, name, "v")}})
	}
	return wss
}

// A first sync into a namespace it creates sends one apply per object: nothing can be in a
// namespace that did not exist, so no object is looked up.
func TestApplyAllNewNamespaceNoLookups(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	// A namespace of its own that does not exist yet (env.NewNamespace creates one); a new name
	// per run, as the previous run's may still be terminating under -count.
	ns := fmt.Sprintf("new-ns-%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = env.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	m, log := countingManager(t)

	cs := m.ApplyAll(ctx, configMapWorkspaces(t, ns, 6))
	is.Equal(cs.Count(Created), 6)
	is.Equal(log.count("GET", cmPath(ns)+"/"), 0)
	is.Equal(log.count("PATCH", cmPath(ns)+"/"), 6)
	is.Equal(log.count("POST", "/api/v1/namespaces"), 1)
}

// In a namespace that exists, a kind with several new objects is listed once instead of a GET
// each, and an object of the same name that is not this root's is still refused.
func TestApplyAllListsExistingNamespace(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ws-2", Namespace: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": "someone"}}}
	_, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, foreign, metav1.CreateOptions{})
	is.NoErr(err)
	m, log := countingManager(t)

	cs := m.ApplyAll(ctx, configMapWorkspaces(t, ns, 6))
	is.Equal(cs.Count(Created), 5)
	is.Equal(cs.Count(Failed), 1)
	for _, c := range cs.Entries {
		if c.Action == Failed {
			is.Equal(c.Object.Name, "ws-2")
			is.True(errors.Is(c.Err, ErrNotOwned))
		}
	}
	is.Equal(log.count("GET", cmPath(ns)+"/"), 0) // no GET per object...
	is.Equal(log.count("GET", cmPath(ns)), 1)     // ...one list
	live, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ws-2", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(live.Labels[ownership.LabelSyncRoot], "") // untouched
}

// Below listMin new objects, a GET each is cheaper than a list of the namespace.
func TestApplyAllFewObjectsGet(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m, log := countingManager(t)
	cs := m.ApplyAll(ctx, configMapWorkspaces(t, ns, listMin-1))
	is.Equal(cs.Count(Created), listMin-1)
	is.Equal(log.count("GET", cmPath(ns)+"/"), listMin-1)
}
