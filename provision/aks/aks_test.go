package aks_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/matryer/is"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/provision/aks"
	"github.com/kaito-sync/kaito-sync/provision/aks/akstest"
)

const a100 = "Standard_NC24ads_A100_v4"

// cloud is a loopback ARM whose pools make Ready nodes in a fake clientset.
type cloud struct {
	srv  *akstest.Server
	kube *kubefake.Clientset
}

func newCloud(t *testing.T, opts akstest.Options) *cloud {
	c := &cloud{kube: kubefake.NewClientset()}
	opts.OnProvisioned = func(p armcontainerservice.AgentPool) error { return syncNodes(c.kube, *p.Name, p) }
	opts.OnDeleted = func(name string) error { return syncNodes(c.kube, name, armcontainerservice.AgentPool{}) }
	c.srv = akstest.New(t, opts)
	return c
}

// syncNodes makes the pool's nodes match its count: Ready, one A100 each.
func syncNodes(kube kubernetes.Interface, pool string, p armcontainerservice.AgentPool) error {
	ctx := context.Background()
	count := 0
	if p.Properties != nil && p.Properties.Count != nil {
		count = int(*p.Properties.Count)
	}
	for i := range 10 {
		name := fmt.Sprintf("aks-%s-vmss%06d", pool, i)
		if i >= count {
			_ = kube.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
			continue
		}
		gpu := corev1.ResourceList{provision.ResourceGPU: resource.MustParse("1")}
		n := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{aks.LabelAgentPool: pool}},
			Status: corev1.NodeStatus{Allocatable: gpu, Capacity: gpu,
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
		}
		if _, err := kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "exists") {
			return err
		}
	}
	return nil
}

func (c *cloud) provisioner(t *testing.T, ctx context.Context) *aks.Provisioner {
	t.Helper()
	p, err := aks.New(ctx, aks.Config{
		SubscriptionID: "sub", ResourceGroup: "rg", Cluster: "aks1",
		Credential: c.srv.Credential(), ClientOptions: c.srv.ClientOptions(),
		Logger: testLogger(), PollInterval: 5 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}, c.kube)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func need(ws string, count int) provision.Need {
	return provision.Need{Workspace: ws, InstanceType: a100, Count: count, GPUsPerNode: 1, DiskGiB: 110,
		Labels: map[string]string{"apps": "llama"}}
}

// until calls Ensure until the state satisfies ok, and returns that state.
func until(t *testing.T, p provision.Provisioner, n provision.Need, ok func(provision.NodeState) bool) provision.NodeState {
	t.Helper()
	var last provision.NodeState
	err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		st, err := p.Ensure(ctx, n)
		last = st
		return err == nil && ok(st), nil
	})
	if err != nil {
		t.Fatalf("Ensure(%s): never got there; last state %+v", n.Workspace, last)
	}
	return last
}

func ready(st provision.NodeState) bool { return st.Ready }

// eventually waits for cond, checking often.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("never: %s", what)
	}
}

func TestPoolNames(t *testing.T) {
	is := is.New(t)
	seen := map[string]string{}
	for _, ws := range []string{"default/phi-3", "llm/llama-3-3-70b", "a/b", strings.Repeat("n", 63) + "/" + strings.Repeat("w", 63)} {
		name := aks.PoolName(ws)
		is.True(aks.ValidPoolName(name)) // AKS accepts it
		is.Equal(name, aks.PoolName(ws)) // the same after a restart
		is.Equal(seen[name], "")         // distinct per workspace
		seen[name] = ws
	}
}

func TestCreateScaleAndRelease(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	c := newCloud(t, akstest.Options{})
	p := c.provisioner(t, ctx)
	n := need("llm/llama", 2)
	pool := aks.PoolName(n.Workspace)

	st, err := p.Ensure(ctx, n)
	is.NoErr(err)
	is.Equal(st.Reason, provision.ReasonProvisioning)
	is.True(strings.Contains(st.Message, "creating agent pool "+pool+" (Standard_NC24ads_A100_v4×2)"))
	st = until(t, p, n, ready)
	is.Equal(st.Reason, provision.ReasonNodesReady)
	is.Equal(len(st.Nodes), 2)

	got := c.srv.Pools()[pool].Properties
	is.Equal(*got.Count, int32(2))
	is.Equal(*got.VMSize, a100)
	is.Equal(*got.Mode, armcontainerservice.AgentPoolModeUser)
	is.Equal(*got.OSType, armcontainerservice.OSTypeLinux)
	is.Equal(*got.OSDiskSizeGB, int32(110))
	is.Equal(*got.NodeTaints[0], "sku=gpu:NoSchedule")
	is.Equal(*got.NodeLabels["apps"], "llama")
	is.Equal(*got.NodeLabels["kaito.sh/workspace"], "llama")
	is.Equal(*got.NodeLabels["kaito.sh/workspacenamespace"], "llm")
	is.Equal(*got.Tags[aks.TagManagedBy], "kaito-sync")
	is.Equal(*got.Tags[aks.TagWorkspace], "llm/llama")
	is.Equal(c.srv.Calls("BeginCreateOrUpdate"), 1)

	// Ready and unchanged: no write.
	_, err = p.Ensure(ctx, n)
	is.NoErr(err)
	is.Equal(c.srv.Calls("BeginCreateOrUpdate"), 1)

	// count 2 → 3 scales the same pool.
	n.Count = 3
	st, err = p.Ensure(ctx, n)
	is.NoErr(err)
	is.Equal(st.Reason, provision.ReasonProvisioning)
	is.True(strings.Contains(st.Message, "count 2 → 3"))
	st = until(t, p, n, ready)
	is.Equal(len(st.Nodes), 3)
	is.Equal(*c.srv.Pools()[pool].Properties.Count, int32(3))
	is.Equal(len(c.srv.Pools()), 1)

	held, err := p.List(ctx)
	is.NoErr(err)
	is.Equal(held, []string{"llm/llama"})
	is.NoErr(p.Release(ctx, "llm/llama"))
	eventually(t, "pool deleted", func() bool { return len(c.srv.Pools()) == 0 })
	nodes, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	is.NoErr(err)
	is.Equal(len(nodes.Items), 0)
	held, err = p.List(ctx)
	is.NoErr(err)
	is.Equal(len(held), 0)
}

// A process killed while its pool is being created leaves one pool; the next process watches
// that pool's operation rather than starting another.
func TestRestartDuringCreateFindsThePool(t *testing.T) {
	is := is.New(t)
	c := newCloud(t, akstest.Options{})
	release := c.srv.Hold()
	n := need("default/phi", 1)

	first, kill := context.WithCancel(context.Background())
	st, err := c.provisioner(t, first).Ensure(first, n)
	is.NoErr(err)
	is.Equal(st.Reason, provision.ReasonProvisioning)
	eventually(t, "create sent", func() bool { return c.srv.Calls("BeginCreateOrUpdate") == 1 })
	kill()

	p2 := c.provisioner(t, context.Background())
	st, err = p2.Ensure(context.Background(), n)
	is.NoErr(err)
	is.Equal(st.Reason, provision.ReasonProvisioning)
	is.True(strings.Contains(st.Message, "waiting for agent pool"))
	release()
	until(t, p2, n, ready)
	is.Equal(c.srv.Calls("BeginCreateOrUpdate"), 1)
	is.Equal(len(c.srv.Pools()), 1)
}

func TestCloudErrorsBecomeReasons(t *testing.T) {
	quota := "Operation could not be completed as it results in exceeding approved standardNCADSA100v4Family Cores quota. " +
		"Additional details - Deployment Model: Resource Manager, Location: eastus, Current Limit: 0, Current Usage: 0, Additional Required: 48, (Minimum) New Limit Required: 48."
	for _, tc := range []struct {
		name     string
		fault    akstest.Fault
		reason   string
		contains []string
	}{
		{"quota", akstest.Fault{API: "BeginCreateOrUpdate", Status: 409, Code: "QuotaExceeded", Message: quota},
			provision.ReasonQuotaExceeded, []string{a100 + "×2", "standardNCADSA100v4Family", "limit 0", "more needed 48", "eastus"}},
		{"sku not in region", akstest.Fault{API: "BeginCreateOrUpdate", Status: 400, Code: "SkuNotAvailable",
			Message: "The requested VM size Standard_NC24ads_A100_v4 is not available in location 'westus'."},
			provision.ReasonSKUNotAvailable, []string{a100, "westus"}},
		{"operation failed", akstest.Fault{API: "BeginCreateOrUpdate", LRO: true, Code: "ReconcileVMSSAgentPoolFailed",
			Message: "VMSS extension provisioning failed"},
			provision.ReasonProvisioningFailed, []string{"ReconcileVMSSAgentPoolFailed", "VMSS extension provisioning failed"}},
		{"throttled", akstest.Fault{API: "Get", Status: 429, Code: "TooManyRequests", Message: "slow down", RetryAfter: 1},
			provision.ReasonThrottled, []string{"retrying after 1s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c := newCloud(t, akstest.Options{})
			c.srv.Inject(tc.fault)
			p := c.provisioner(t, context.Background())
			n := need("llm/big", 2)
			st := until(t, p, n, func(st provision.NodeState) bool { return st.Reason != provision.ReasonProvisioning })
			is.Equal(st.Reason, tc.reason)
			for _, s := range tc.contains {
				is.True(strings.Contains(st.Message, s)) // the message names what the user must know
			}
			is.True(!st.Ready)
			if tc.reason == provision.ReasonThrottled {
				gets := c.srv.Calls("Get")
				st, _ = p.Ensure(context.Background(), n)
				is.Equal(st.Reason, provision.ReasonThrottled)
				is.True(st.RetryAfter > 0 && st.RetryAfter <= time.Second)
				is.Equal(c.srv.Calls("Get"), gets) // Retry-After honoured: no call before it passes
			}
			// Retried with backoff once the cause is gone.
			c.srv.Clear()
			until(t, p, n, ready)
		})
	}
}

func TestOnlyTaggedPoolsAreListedOrTouched(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	c := newCloud(t, akstest.Options{})
	str := func(s string) *string { return &s }
	c.srv.AddPool("nodepool1", armcontainerservice.AgentPool{}) // the system pool
	c.srv.AddPool("gpuusers", armcontainerservice.AgentPool{Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Tags: map[string]*string{aks.TagWorkspace: str("x/y")}}}) // names a workspace, but is not ours
	squat := aks.PoolName("default/phi")
	c.srv.AddPool(squat, armcontainerservice.AgentPool{}) // our name, someone else's pool
	c.srv.AddPool(aks.PoolName("gone/ws"), armcontainerservice.AgentPool{Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Tags: map[string]*string{aks.TagManagedBy: str("kaito-sync"), aks.TagWorkspace: str("gone/ws")}}})
	p := c.provisioner(t, ctx)

	held, err := p.List(ctx)
	is.NoErr(err)
	is.Equal(held, []string{"gone/ws"})

	st, err := p.Ensure(ctx, need("default/phi", 1))
	is.NoErr(err)
	is.Equal(st.Reason, provision.ReasonProvisioningFailed)
	is.True(strings.Contains(st.Message, "not kaito-sync's"))
	is.Equal(c.srv.Calls("BeginCreateOrUpdate"), 0)

	is.NoErr(p.Release(ctx, "gone/ws"))
	eventually(t, "pool deleted", func() bool { return len(c.srv.Pools()) == 3 })
	pools := c.srv.Pools()
	is.Equal(len(pools), 3)
	_, ok := pools[aks.PoolName("gone/ws")]
	is.True(!ok)
}

// testLogger shows the provisioner's log with -v. Not t.Output: background operations may log
// after a test ends.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

func TestInstancesWithDifferentRootsLeaveEachOthersPoolsAlone(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	c := newCloud(t, akstest.Options{})
	newWithRoot := func(root string) *aks.Provisioner {
		p, err := aks.New(ctx, aks.Config{
			SubscriptionID: "sub", ResourceGroup: "rg", Cluster: "aks1", Root: root,
			Credential: c.srv.Credential(), ClientOptions: c.srv.ClientOptions(),
			Logger: testLogger(), PollInterval: 5 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		}, c.kube)
		is.NoErr(err)
		return p
	}
	a, b := newWithRoot("rootA"), newWithRoot("rootB")
	until(t, a, need("team/ws", 1), ready)
	pool := c.srv.Pools()[aks.PoolName("team/ws")]
	is.Equal(*pool.Properties.Tags[aks.TagRoot], "rootA")

	held, err := b.List(ctx)
	is.NoErr(err)
	is.Equal(len(held), 0) // b does not see a's pool as its own, so it can never collect it
	held, err = a.List(ctx)
	is.NoErr(err)
	is.Equal(held, []string{"team/ws"})
}
