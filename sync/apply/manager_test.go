package apply

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

// newManager starts a Manager with its own root, so tests do not see each other's objects.
func newManager(t *testing.T, opts Options) *Manager {
	t.Helper()
	if opts.Root == "" {
		opts.Root = RootID(t.Name())
	}
	m, err := New(env.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return m
}

func obj(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func configMap(t *testing.T, ns, name, value string) *unstructured.Unstructured {
	return obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+name+", namespace: "+ns+"}\ndata: {key: "+value+"}\n")
}

func deployment(t *testing.T, ns, name, app string) *unstructured.Unstructured {
	return obj(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: `+name+`, namespace: `+ns+`}
spec:
  replicas: 1
  selector: {matchLabels: {app: `+app+`}}
  template:
    metadata: {labels: {app: `+app+`}}
    spec:
      containers: [{name: c, image: registry.example/app:1}]
`)
}

// waitCached waits until the manager's watch has seen an object with the hash it applied, so the
// next apply is judged against the cluster's current state.
func waitCached(t *testing.T, m *Manager, u *unstructured.Unstructured) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		live, ok := m.live(u.GroupVersionKind(), u.GetNamespace(), u.GetName())
		if ok && live.GetAnnotations()[ownership.AnnotationHash] != "" {
			m.mu.Lock()
			want := m.desired[ObjectRef{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}]
			m.mu.Unlock()
			if want != nil && want.GetAnnotations()[ownership.AnnotationHash] == live.GetAnnotations()[ownership.AnnotationHash] {
				return
			}
		}
		time.Sleep(20 * time.Millisecond) // polling the informer's store: it has no change notification for one key
	}
	t.Fatalf("%s/%s never reached the watch cache", u.GetKind(), u.GetName())
}

func actions(cs ChangeSet) string {
	var s []string
	for _, c := range cs.Entries {
		s = append(s, c.Object.Kind+"/"+c.Object.Name+"="+string(c.Action))
	}
	return strings.Join(s, " ")
}

// editConfigMap changes a live ConfigMap as kubectl edit would.
func editConfigMap(t *testing.T, ns, name string, edit func(*corev1.ConfigMap)) {
	t.Helper()
	ctx := context.Background()
	live, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	edit(live)
	if _, err := env.Client.CoreV1().ConfigMaps(ns).Update(ctx, live, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
}

// nextDrift waits for the manager's next drift report.
func nextDrift(t *testing.T, m *Manager) ObjectRef {
	t.Helper()
	select {
	case ref := <-m.Drift():
		return ref
	case <-time.After(10 * time.Second):
		t.Fatal("no drift reported")
		return ObjectRef{}
	}
}

func TestApplyCreatesThenSkipsUnchangedThenConfigures(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	ws := Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{
		deployment(t, ns, "ws", "ws"), configMap(t, ns, "ws-config", "one"),
	}}

	cs := m.Apply(ctx, ws)
	is.Equal(actions(cs), "ConfigMap/ws-config=created Deployment/ws=created") // referenced objects first
	for _, o := range ws.Objects {
		waitCached(t, m, o)
	}
	live, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ws-config", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(live.Labels[ownership.LabelManagedBy], ownership.ManagedBy)
	is.Equal(live.Labels[ownership.LabelWorkspace], "ws")
	is.Equal(live.Labels[ownership.LabelWorkspaceNamespace], ns)
	rv := live.ResourceVersion

	cs = m.Apply(ctx, ws)
	is.Equal(actions(cs), "ConfigMap/ws-config=unchanged Deployment/ws=unchanged")
	live, err = env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ws-config", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(live.ResourceVersion, rv) // no write at all

	ws.Objects[1] = configMap(t, ns, "ws-config", "two")
	cs = m.Apply(ctx, ws)
	is.Equal(actions(cs), "ConfigMap/ws-config=configured Deployment/ws=unchanged")
	live, err = env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ws-config", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(live.Data["key"], "two")
}

func TestApplyRefusals(t *testing.T) {
	ns := env.NewNamespace(t)
	tests := []struct {
		name string
		opts Options
		obj  *unstructured.Unstructured
		want string
	}{
		{"kind kaito-sync never applies", Options{},
			obj(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: pwn}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"),
			"is not one kaito-sync applies"},
		{"protected namespace", Options{}, configMap(t, "kube-system", "x", "y"), "namespace kube-system is protected"},
		{"outside --namespaces", Options{Namespaces: []string{"team-a"}}, configMap(t, ns, "x", "y"), "is not in --namespaces"},
		{"no namespace", Options{}, obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), "no namespace set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m := newManager(t, tt.opts)
			cs := m.Apply(context.Background(), Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{tt.obj}})
			is.Equal(len(cs.Entries), 1)
			is.Equal(cs.Entries[0].Action, Failed)
			is.True(strings.Contains(cs.Entries[0].Err.Error(), tt.want))
			is.True(strings.Contains(cs.Entries[0].Err.Error(), "apply failed")) // errors start with the object
		})
	}
}

func TestApplyOneFailureDoesNotStopOtherWorkspaces(t *testing.T) {
	is := is.New(t)
	ns := env.NewNamespace(t)
	m := newManager(t, Options{Concurrency: 2})
	bad := configMap(t, ns, "bad", "x")
	bad.Object["data"] = map[string]any{"key": map[string]any{"not": "a string"}} // the API server refuses it
	cs := m.ApplyAll(context.Background(), []Workspace{
		{Key: ns + "/a", Objects: []*unstructured.Unstructured{bad, deployment(t, ns, "a", "a")}},
		{Key: ns + "/b", Objects: []*unstructured.Unstructured{configMap(t, ns, "b", "x")}},
	})
	is.Equal(actions(cs), "ConfigMap/bad=failed Deployment/a=skipped ConfigMap/b=created")
	is.True(cs.Failed())
}

func TestApplyRecreates(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	d := deployment(t, ns, "ws", "v1")
	cs := m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{d}})
	is.Equal(actions(cs), "Deployment/ws=created")
	waitCached(t, m, d)
	before, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "ws", metav1.GetOptions{})
	is.NoErr(err)

	// A selector cannot change in place: the API server refuses, the manager recreates.
	d2 := deployment(t, ns, "ws", "v2")
	cs = m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{d2}})
	is.Equal(actions(cs), "Deployment/ws=recreated")
	is.True(strings.Contains(cs.Entries[0].Reason, "immutable"))
	after, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "ws", metav1.GetOptions{})
	is.NoErr(err)
	is.True(after.UID != before.UID)
	is.Equal(after.Spec.Selector.MatchLabels["app"], "v2")
	waitCached(t, m, d2)

	// A different recreate key (Kaito's immutable fields) recreates without asking the server.
	d3 := deployment(t, ns, "ws", "v2")
	d3.SetAnnotations(map[string]string{ownership.AnnotationRecreateKey: "instanceType=Standard_NC48ads_A100_v4"})
	cs = m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{d3}})
	is.Equal(actions(cs), "Deployment/ws=recreated")
	again, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "ws", metav1.GetOptions{})
	is.NoErr(err)
	is.True(again.UID != after.UID)
}

// A StatefulSet refuses a new serviceName in place: the manager recreates it, as it does when a
// workspace rendered by an older kaito-sync (no headless Service name) is rendered again.
func TestApplyRecreatesAStatefulSet(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	sts := func(serviceName string) *unstructured.Unstructured {
		return obj(t, `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ws, namespace: `+ns+`}
spec:
  replicas: 1
  serviceName: "`+serviceName+`"
  selector: {matchLabels: {app: ws}}
  template:
    metadata: {labels: {app: ws}}
    spec:
      containers: [{name: c, image: registry.example/app:1}]
`)
	}
	old := sts("")
	cs := m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{old}})
	is.Equal(actions(cs), "StatefulSet/ws=created")
	waitCached(t, m, old)
	cs = m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{sts("ws-headless")}})
	is.Equal(actions(cs), "StatefulSet/ws=recreated")
	live, err := env.Client.AppsV1().StatefulSets(ns).Get(ctx, "ws", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(live.Spec.ServiceName, "ws-headless")
}

func TestDeleteOnlyWhatItOwns(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	mine := configMap(t, ns, "mine", "x")
	cs := m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{mine}})
	is.True(!cs.Failed())
	waitCached(t, m, mine)
	// Another instance's object, and one nobody manages, in the same namespace.
	other := newManager(t, Options{Root: RootID("another instance")})
	theirs := configMap(t, ns, "theirs", "x")
	is.True(!other.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{theirs}}).Failed())
	_, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, configMapTyped(ns, "unmanaged"), metav1.CreateOptions{})
	is.NoErr(err)

	inv := m.Inventory()
	is.Equal(inv[ns+"/ws"], []ObjectRef{{Kind: "ConfigMap", Namespace: ns, Name: "mine"}}) // only its own

	cs = m.Delete(ctx, ns+"/ws", []ObjectRef{
		{Kind: "ConfigMap", Namespace: ns, Name: "mine"},
		{Kind: "ConfigMap", Namespace: ns, Name: "theirs"},
		{Kind: "ConfigMap", Namespace: ns, Name: "unmanaged"},
	})
	is.Equal(actions(cs), "ConfigMap/unmanaged=skipped ConfigMap/theirs=skipped ConfigMap/mine=deleted")
	for _, name := range []string{"theirs", "unmanaged"} {
		_, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		is.NoErr(err) // still there
	}
}

func TestDriftIsDetectedByWatchAndRepaired(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	cm := configMap(t, ns, "ws-config", "desired")
	is.True(!m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{cm}}).Failed())
	waitCached(t, m, cm)

	// Someone edits a field kaito-sync owns.
	editConfigMap(t, ns, "ws-config", func(cm *corev1.ConfigMap) { cm.Data["key"] = "edited by hand" })

	ref := nextDrift(t, m)
	is.Equal(ref, ObjectRef{Kind: "ConfigMap", Namespace: ns, Name: "ws-config"})
	is.Equal(m.Repair(ctx, ref).Action, Configured)
	live, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ws-config", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(live.Data["key"], "desired")
}

func TestDryRunChangesNothing(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{DryRun: true})
	cs := m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{configMap(t, ns, "dry", "x")}})
	is.Equal(actions(cs), "ConfigMap/dry=created")
	_, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "dry", metav1.GetOptions{})
	is.True(err != nil) // not persisted
}

func TestDryRunInAMissingNamespace(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	m := newManager(t, Options{DryRun: true})
	cs := m.Apply(ctx, Workspace{Key: "not-there-yet/ws", Objects: []*unstructured.Unstructured{configMap(t, "not-there-yet", "dry", "x")}})
	is.Equal(actions(cs), "ConfigMap/dry=created")
	is.Equal(cs.Entries[0].Reason, "namespace not-there-yet would be created")
	_, err := env.Client.CoreV1().Namespaces().Get(ctx, "not-there-yet", metav1.GetOptions{})
	is.True(err != nil) // nothing created
}

func TestApplyNeverTakesOverAnotherOwnersObject(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	_, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, configMapTyped(ns, "running"), metav1.CreateOptions{})
	is.NoErr(err)
	m := newManager(t, Options{})
	cs := m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{configMap(t, ns, "running", "mine now")}})
	is.Equal(actions(cs), "ConfigMap/running=failed")
	is.True(errors.Is(cs.Entries[0].Err, ErrNotOwned))
	live, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "running", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(live.Data["a"], "b") // untouched
}

// TestDriftOnlyForWhatKaitoSyncApplied edits two ConfigMaps of one informer in turn: the first
// edit leaves what kaito-sync applied alone (or is kaito-sync's own write), the second changes it.
// Events of one kind are handled in order, so the first drift reported must be the second edit's.
func TestDriftOnlyForWhatKaitoSyncApplied(t *testing.T) {
	tests := []struct {
		name  string
		first func(t *testing.T, ctx context.Context, m *Manager, ns string)
	}{
		{"someone else's label", func(t *testing.T, ctx context.Context, m *Manager, ns string) {
			editConfigMap(t, ns, "a", func(cm *corev1.ConfigMap) { cm.Labels["team"] = "ml" })
		}},
		{"kaito-sync's own change", func(t *testing.T, ctx context.Context, m *Manager, ns string) {
			if cs := m.Apply(ctx, Workspace{Key: ns + "/a", Objects: []*unstructured.Unstructured{configMap(t, ns, "a", "two")}}); actions(cs) != "ConfigMap/a=configured" {
				t.Fatal(actions(cs))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			ctx := context.Background()
			ns := env.NewNamespace(t)
			m := newManager(t, Options{})
			for _, name := range []string{"a", "b"} {
				cm := configMap(t, ns, name, "one")
				is.True(!m.Apply(ctx, Workspace{Key: ns + "/" + name, Objects: []*unstructured.Unstructured{cm}}).Failed())
				waitCached(t, m, cm)
			}
			tt.first(t, ctx, m, ns)
			editConfigMap(t, ns, "b", func(cm *corev1.ConfigMap) { cm.Data["key"] = "edited by hand" })
			is.Equal(nextDrift(t, m), ObjectRef{Kind: "ConfigMap", Namespace: ns, Name: "b"})
		})
	}
}

func TestDriftOfAWorkloadSpec(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	d := deployment(t, ns, "ws", "ws")
	is.True(!m.Apply(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{d}}).Failed())
	waitCached(t, m, d)
	// The deployment controller writes status meanwhile: edit as kubectl edit does, retrying conflicts.
	is.NoErr(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		live, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "ws", metav1.GetOptions{})
		if err != nil {
			return err
		}
		live.Spec.Template.Spec.Containers[0].Image = "registry.example/app:hand-edited"
		_, err = env.Client.AppsV1().Deployments(ns).Update(ctx, live, metav1.UpdateOptions{})
		return err
	}))
	ref := nextDrift(t, m)
	is.Equal(ref, ObjectRef{Kind: "Deployment", Namespace: ns, Name: "ws"})
	is.Equal(m.Repair(ctx, ref).Action, Configured)
	live, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "ws", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(live.Spec.Template.Spec.Containers[0].Image, "registry.example/app:1")
}

// TestApplyAllSkipsAnUnchangedRevision shows what Workspace.Revision buys and what it does not
// hide: a workspace applied cleanly under a Revision is not prepared again (a lie about its
// objects goes unseen, which is how the skip shows), but one whose live object changed hands,
// hash or existence is.
func TestApplyAllSkipsAnUnchangedRevision(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	ws := func(rev, value string) []Workspace {
		return []Workspace{{Key: ns + "/ws", Revision: rev, Objects: []*unstructured.Unstructured{configMap(t, ns, "ws", value)}}}
	}
	is.Equal(actions(m.ApplyAll(ctx, ws("r1", "one"))), "ConfigMap/ws=created")
	waitCached(t, m, configMap(t, ns, "ws", "one"))

	is.Equal(actions(m.ApplyAll(ctx, ws("r1", "not what r1 was"))), "ConfigMap/ws=unchanged") // skipped: not even hashed
	is.Equal(actions(m.ApplyAll(ctx, ws("r2", "two"))), "ConfigMap/ws=configured")
	waitCached(t, m, configMap(t, ns, "ws", "two"))

	// Deleted behind its back: the skip sees the cache and creates it again.
	is.NoErr(env.Client.CoreV1().ConfigMaps(ns).Delete(ctx, "ws", metav1.DeleteOptions{}))
	deadline := time.Now().Add(10 * time.Second)
	for _, ok := m.live(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, "ws"); ok && time.Now().Before(deadline); _, ok = m.live(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, "ws") {
		time.Sleep(20 * time.Millisecond) // the store has no change notification for one key
	}
	is.Equal(actions(m.ApplyAll(ctx, ws("r2", "two"))), "ConfigMap/ws=created")

	// A failure forgets the revision: the next sync prepares the workspace again.
	bad := ws("r3", "three")
	bad[0].Objects = append(bad[0].Objects, obj(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: "+ns+"}\n"))
	is.True(m.ApplyAll(ctx, bad).Failed())
	m.mu.Lock()
	_, remembered := m.applied[ns+"/ws"]
	m.mu.Unlock()
	is.True(!remembered)
}
