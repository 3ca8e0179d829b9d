// Package provisioning proves the AKS provisioner end to end: a workspace pushed to a loopback Git
// server, kaito-sync's reconciler, a loopback HTTPS ARM endpoint served by the SDK's agent pools
// fake, and a real control plane where each pool's VMs appear as kwok GPU nodes.
package provisioning

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/provision/aks"
	"github.com/kaito-sync/kaito-sync/provision/aks/akstest"
	"github.com/kaito-sync/kaito-sync/provision/byo"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

const workspace = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: phi-3
  namespace: NAMESPACE
resource:
  count: COUNT
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: NAMESPACE
inference:
  preset:
    name: PRESET
`

// Presets the fixture's workspace serves. Kaito v0.12.0's node estimator gives a catalogued vLLM
// preset the nodes its size needs, whatever resource.count says (phi-3-mini: one A100 node), and
// the pool and the workload follow it; a Hugging Face id outside the catalog has no size to
// estimate from, so its count stands: one pod per node counted, over Ray.
const (
	phi3Mini     = "phi-3-mini-4k-instruct"
	uncatalogued = "Qwen/Qwen2.5-72B-Instruct"
)

// workspaceYAML is the workspace phi-3 asking for count nodes, serving phi-3-mini.
func workspaceYAML(count int) string { return workspaceOf(phi3Mini, count) }

// countedYAML is the workspace phi-3 serving an uncatalogued model on count nodes: the pool and
// the workload both follow the count.
func countedYAML(count int) string { return workspaceOf(uncatalogued, count) }

func workspaceOf(preset string, count int) string {
	return strings.NewReplacer("COUNT", fmt.Sprint(count), "PRESET", preset).Replace(workspace)
}

// fixture is one test's Git repository, namespace, cloud and reconciler.
type fixture struct {
	t     *testing.T
	ns    string
	git   *gitserver.Server
	cloud *akstest.Server
	m     *apply.Manager
	src   source.Source
}

func newFixture(t *testing.T, opts akstest.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, ns: env.NewNamespace(t)}
	f.git = gitserver.New(t, gitserver.Options{})
	if _, err := f.git.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	opts.OnProvisioned = func(p armcontainerservice.AgentPool) error { return poolNodes(*p.Name, &p) }
	opts.OnDeleted = func(name string) error { return poolNodes(name, nil) }
	f.cloud = akstest.New(t, opts)
	m, err := apply.New(env.Config, apply.Options{Root: apply.RootID(t.Name()), DeleteTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.m = m
	t.Cleanup(func() { _ = poolNodes(f.pool(), nil) })
	f.src = source.NewGit(source.GitOptions{URL: f.git.RepoURL("fleet"), Branch: "main", Path: "workspaces", Auth: f.git.Auth()})
	return f
}

// reconciler is one kaito-sync process: its provisioner's operations live as long as life.
func (f *fixture) reconciler(life context.Context) *ksync.Reconciler {
	f.t.Helper()
	pools, err := aks.New(life, aks.Config{
		SubscriptionID: "00000000-0000-0000-0000-000000000000", ResourceGroup: "rg", Cluster: "aks1",
		Credential: f.cloud.Credential(), ClientOptions: f.cloud.ClientOptions(),
		PollInterval: 50 * time.Millisecond, Backoff: 200 * time.Millisecond, MaxBackoff: time.Second,
	}, env.Client)
	if err != nil {
		f.t.Fatal(err)
	}
	p := &provision.Auto{Own: byo.New(env.Client), Cloud: pools}
	return ksync.NewReconciler(f.src, ksync.Cluster{M: f.m}, presets.Default(),
		ksync.Options{Provisioner: p, AllowMassPrune: true, Logger: slog.New(slog.DiscardHandler)})
}

func (f *fixture) push(files map[string]string, msg string) {
	f.t.Helper()
	for k, v := range files {
		files[k] = strings.ReplaceAll(v, "NAMESPACE", f.ns)
	}
	// Git keeps no empty folders: this file keeps workspaces/ when the last workspace goes.
	files["workspaces/README.md"] = "Workspaces of the test fleet.\n"
	if _, err := f.git.Commit("fleet", "main", files, msg); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) key() string  { return f.ns + "/phi-3" }
func (f *fixture) pool() string { return aks.PoolName(f.key()) }

func (f *fixture) sync(r *ksync.Reconciler) *ksync.Result {
	f.t.Helper()
	res, err := r.SyncOnce(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// syncUntil syncs, as the poll trigger would (more often), until the workspace's node state
// satisfies ok.
func (f *fixture) syncUntil(r *ksync.Reconciler, what string, ok func(provision.NodeState) bool) (*ksync.Result, provision.NodeState) {
	f.t.Helper()
	var res *ksync.Result
	var last provision.NodeState
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		res = f.sync(r)
		last = res.Nodes[f.key()]
		return ok(last), nil
	})
	if err != nil {
		f.t.Fatalf("%s: never; last node state %+v", what, last)
	}
	return res, last
}

func (f *fixture) statefulSet() (*appsv1.StatefulSet, error) {
	return env.Client.AppsV1().StatefulSets(f.ns).Get(context.Background(), "phi-3", metav1.GetOptions{})
}

// waitPods waits until the workload runs replicas Ready pods.
func (f *fixture) waitPods(replicas int32) {
	f.t.Helper()
	f.waitFor(fmt.Sprintf("%d pods Ready", replicas), func() bool {
		s, err := f.statefulSet()
		return err == nil && *s.Spec.Replicas == replicas && s.Status.ReadyReplicas == replicas && s.Status.ObservedGeneration == s.Generation
	})
}

func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		f.t.Fatalf("never: %s", what)
	}
}

// nodesOf lists the Ready-or-not nodes of a pool.
func nodesOf(pool string) []string {
	list, err := env.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: aks.LabelAgentPool + "=" + pool})
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range list.Items {
		out = append(out, n.Name)
	}
	return out
}

// poolNodes makes the cluster's nodes of a pool match it, as AKS's VM scale set would: one kwok
// GPU node per VM, with the pool's labels and taints; none when p is nil (deleted).
func poolNodes(pool string, p *armcontainerservice.AgentPool) error {
	ctx := context.Background()
	count, vmSize, labels := 0, "", map[string]string{}
	if p != nil {
		count, vmSize = int(*p.Properties.Count), *p.Properties.VMSize
		for k, v := range p.Properties.NodeLabels {
			labels[k] = *v
		}
	}
	sku, _ := presets.Default().SKU(vmSize)
	for i := range 16 {
		name := fmt.Sprintf("aks-%s-vmss%06d", pool, i)
		if i >= count {
			err := env.Client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			continue
		}
		_, err := env.AddGPUNode(ctx, testenv.GPUNode{Name: name, InstanceType: vmSize, GPUs: sku.GPUCount, GPUModel: sku.GPUModel,
			AgentPool: pool, Labels: labels, SKUTaint: true})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}
