// Package syncloop proves the sync loop end to end: a loopback Git server, a real control plane
// with kwok GPU nodes, and kaito-sync's own reconciler in between.
package syncloop

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	"github.com/kaito-sync/kaito-sync/presets"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/test/e2e/fixtures"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

const phi3 = fixtures.Phi3Mini

const adapter = `  adapters:
    - source:
        name: support-tone
        image: myregistry.azurecr.io/adapters/support-tone:0.1.0
      strength: "0.5"
`

// fixture is one test's Git repository, namespace, reconciler and cluster target.
type fixture struct {
	t    *testing.T
	ns   string
	git  *gitserver.Server
	repo string
	rec  *ksync.Reconciler
	m    *apply.Manager
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ns := env.NewNamespace(t)
	srv := gitserver.New(t, gitserver.Options{})
	if _, err := srv.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	m, err := apply.New(env.Config, apply.Options{Root: apply.RootID(t.Name()), DeleteTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	src := source.NewGit(source.GitOptions{URL: srv.RepoURL("fleet"), Branch: "main", Path: "workspaces", Auth: srv.Auth()})
	rec := ksync.NewReconciler(src, ksync.Cluster{M: m}, presets.Default(), ksync.Options{Logger: slog.New(slog.DiscardHandler)})
	go ksync.RepairDrift(ctx, m, slog.New(slog.DiscardHandler))
	return &fixture{t: t, ns: ns, git: srv, repo: "fleet", rec: rec, m: m}
}

func (f *fixture) push(files map[string]string, msg string) {
	f.t.Helper()
	for k, v := range files {
		files[k] = strings.ReplaceAll(v, "NAMESPACE", f.ns)
	}
	if _, err := f.git.Commit(f.repo, "main", files, msg); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sync() *ksync.Result {
	f.t.Helper()
	res, err := f.rec.SyncOnce(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range res.Changes.Entries {
		f.t.Logf("%s: %s", c.Workspace, c)
	}
	return res
}

func (f *fixture) statefulSet(name string) (*appsv1.StatefulSet, error) {
	return env.Client.AppsV1().StatefulSets(f.ns).Get(context.Background(), name, metav1.GetOptions{})
}

// waitReady waits until the StatefulSet's pods run Ready on a kwok GPU node.
func (f *fixture) waitReady(name string) {
	f.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		s, err := f.statefulSet(name)
		if err != nil {
			return false, nil
		}
		return s.Status.ReadyReplicas == *s.Spec.Replicas && s.Status.ObservedGeneration == s.Generation, nil
	})
	if err != nil {
		f.t.Fatalf("StatefulSet %s/%s never became ready", f.ns, name)
	}
}

func addGPUNode(t *testing.T, name, instanceType string, gpus int, labels map[string]string) {
	t.Helper()
	env.AddReadyGPUNode(t, testenv.GPUNode{Name: name, InstanceType: instanceType, GPUs: gpus, Labels: labels, SKUTaint: true})
}

func TestPushToRunningAndBack(t *testing.T) {
	f := newFixture(t)
	addGPUNode(t, "gpu-nc6-1", "Standard_NC6s_v3", 1, map[string]string{"apps": "phi-3"})
	addGPUNode(t, "gpu-nc12-1", "Standard_NC12s_v3", 2, map[string]string{"apps": "phi-3"})

	t.Run("push a workspace: its objects exist and the model runs on a GPU node", func(t *testing.T) {
		is := is.New(t)
		f.push(map[string]string{"workspaces/phi-3.yaml": phi3}, "add phi-3")
		res := f.sync()
		is.True(!res.Failed())
		is.Equal(res.Changes.Count(apply.Created), 3) // Service, headless Service and StatefulSet
		f.waitReady("phi-3")
		svc, err := env.Client.CoreV1().Services(f.ns).Get(context.Background(), "phi-3", metav1.GetOptions{})
		is.NoErr(err)
		is.Equal(svc.Spec.Selector["statefulset.kubernetes.io/pod-name"], "phi-3-0") // the server on pod -0
		headless, err := env.Client.CoreV1().Services(f.ns).Get(context.Background(), "phi-3-headless", metav1.GetOptions{})
		is.NoErr(err)
		is.Equal(headless.Spec.ClusterIP, "None")
		s, err := f.statefulSet("phi-3")
		is.NoErr(err)
		is.Equal(s.Spec.ServiceName, "phi-3-headless") // it names the pods
	})

	var uid string
	t.Run("add an adapter: updated in place", func(t *testing.T) {
		is := is.New(t)
		before, err := f.statefulSet("phi-3")
		is.NoErr(err)
		uid = string(before.UID)
		f.push(map[string]string{"workspaces/phi-3.yaml": phi3 + adapter}, "add an adapter")
		res := f.sync()
		is.True(!res.Failed())
		is.Equal(res.Changes.Count(apply.Configured), 1)
		after, err := f.statefulSet("phi-3")
		is.NoErr(err)
		is.Equal(string(after.UID), uid) // same object
		is.Equal(len(after.Spec.Template.Spec.InitContainers), 1)
		f.waitReady("phi-3")
	})

	t.Run("change the instance type: recreated", func(t *testing.T) {
		is := is.New(t)
		f.push(map[string]string{"workspaces/phi-3.yaml": strings.Replace(phi3+adapter, "Standard_NC6s_v3", "Standard_NC12s_v3", 1)}, "bigger GPU")
		res := f.sync()
		is.True(!res.Failed())
		is.Equal(res.Changes.Count(apply.Recreated), 1)
		after, err := f.statefulSet("phi-3")
		is.NoErr(err)
		is.True(string(after.UID) != uid)
		f.waitReady("phi-3")
	})

	t.Run("kubectl edit of an owned field is reverted by the watch", func(t *testing.T) {
		is := is.New(t)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			s, err := f.statefulSet("phi-3")
			if err != nil {
				return err
			}
			s.Spec.Template.Spec.Containers[0].Env = nil // remove what kaito-sync set
			_, err = env.Client.AppsV1().StatefulSets(f.ns).Update(context.Background(), s, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
			return err
		})
		is.NoErr(err)
		err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			s, err := f.statefulSet("phi-3")
			return err == nil && len(s.Spec.Template.Spec.Containers[0].Env) > 0, nil
		})
		is.NoErr(err) // reverted without a sync
	})

	t.Run("break the file: nothing is pruned and the error names file:line", func(t *testing.T) {
		is := is.New(t)
		f.push(map[string]string{"workspaces/phi-3.yaml": "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata: [\n"}, "oops")
		res := f.sync()
		is.True(res.Failed())
		is.Equal(res.Changes.Count(apply.Deleted), 0)
		is.True(strings.HasPrefix(res.Set.Problems[0].String(), "workspaces/phi-3.yaml:"))
		_, err := f.statefulSet("phi-3")
		is.NoErr(err) // still running
	})

	t.Run("delete the file: its objects are pruned", func(t *testing.T) {
		is := is.New(t)
		// Another workspace stays, so removing one of two is not a mass prune.
		other := strings.NewReplacer("name: phi-3\n", "name: phi-3-b\n").Replace(phi3)
		f.push(map[string]string{"workspaces/phi-3-b.yaml": other, "workspaces/phi-3.yaml": phi3}, "fix phi-3, add a second workspace")
		is.True(!f.sync().Failed())
		if _, err := f.git.DeleteFiles(f.repo, "main", "remove phi-3", "workspaces/phi-3.yaml"); err != nil {
			t.Fatal(err)
		}
		res := f.sync()
		is.True(!res.Failed())
		is.Equal(res.Changes.Count(apply.Deleted), 3) // phi-3's Service, headless Service and StatefulSet
		for _, c := range res.Changes.Entries {
			if c.Action == apply.Deleted {
				is.Equal(c.Workspace, f.ns+"/phi-3")
			}
		}
		_, err := f.statefulSet("phi-3")
		is.True(apierrors.IsNotFound(err))
		_, err = f.statefulSet("phi-3-b")
		is.NoErr(err)
	})
}
