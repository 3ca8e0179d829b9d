package provisioning

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/provision/aks/akstest"
	"github.com/kaito-sync/kaito-sync/sync/apply"
)

func ready(st provision.NodeState) bool { return st.Ready }

// The whole path: workspace pushed → pool created → nodes Ready → pods Ready; count changed →
// pool scaled and workload recreated; file broken → pool kept; file deleted → pool deleted. The
// model is one Kaito's node estimator cannot size (countedYAML), so the count is what it runs on.
func TestPoolFollowsTheWorkspace(t *testing.T) {
	f := newFixture(t, akstest.Options{CreateTime: 2 * time.Second, DeleteTime: 500 * time.Millisecond})
	r := f.reconciler(t.Context())

	t.Run("push count 2: one pool of 2, two GPU nodes, inference Ready", func(t *testing.T) {
		is := is.New(t)
		t0 := time.Now()
		f.push(map[string]string{"workspaces/phi-3.yaml": countedYAML(2)}, "add phi-3")
		res := f.sync(r)
		is.True(!res.Failed())
		st := res.Nodes[f.key()]
		is.Equal(st.Reason, provision.ReasonProvisioning)
		is.True(strings.Contains(st.Message, "creating agent pool "+f.pool()+" (Standard_NC24ads_A100_v4×2)"))
		_, err := f.statefulSet()
		is.NoErr(err) // applied at once, Pending until the nodes come
		f.waitPods(2)
		t.Logf("push → 2 pods Ready with a simulated 2s pool create: %v", time.Since(t0).Round(10*time.Millisecond))
		_, st = f.syncUntil(r, "ResourceReady", ready)
		is.Equal(st.Reason, provision.ReasonNodesReady)
		pools := f.cloud.Pools()
		is.Equal(len(pools), 1)
		is.Equal(*pools[f.pool()].Properties.Count, int32(2))
		is.Equal(len(nodesOf(f.pool())), 2)
		is.Equal(f.cloud.Calls("BeginCreateOrUpdate"), 1)
	})

	t.Run("count 2 → 3: pool scaled, workload recreated", func(t *testing.T) {
		is := is.New(t)
		before, err := f.statefulSet()
		is.NoErr(err)
		t0 := time.Now()
		f.push(map[string]string{"workspaces/phi-3.yaml": countedYAML(3)}, "three replicas")
		res := f.sync(r)
		is.True(!res.Failed())
		is.Equal(res.Changes.Count(apply.Recreated), 1)
		st := res.Nodes[f.key()]
		is.Equal(st.Reason, provision.ReasonProvisioning)
		is.True(strings.Contains(st.Message, "count 2 → 3"))
		f.waitPods(3)
		t.Logf("count 2 → 3 → 3 pods Ready: %v", time.Since(t0).Round(10*time.Millisecond))
		after, err := f.statefulSet()
		is.NoErr(err)
		is.True(after.UID != before.UID)
		f.syncUntil(r, "ResourceReady", ready)
		is.Equal(len(f.cloud.Pools()), 1)
		is.Equal(*f.cloud.Pools()[f.pool()].Properties.Count, int32(3))
		is.Equal(len(nodesOf(f.pool())), 3)
	})

	t.Run("break the file: pool kept", func(t *testing.T) {
		is := is.New(t)
		f.push(map[string]string{"workspaces/phi-3.yaml": "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata: [\n"}, "oops")
		res := f.sync(r)
		is.True(res.Failed())
		is.Equal(f.cloud.Calls("BeginDelete"), 0)
		is.Equal(len(f.cloud.Pools()), 1)
		is.Equal(len(nodesOf(f.pool())), 3)
	})

	t.Run("delete the file: pool deleted", func(t *testing.T) {
		is := is.New(t)
		if _, err := f.git.DeleteFiles("fleet", "main", "remove phi-3", "workspaces/phi-3.yaml"); err != nil {
			t.Fatal(err)
		}
		res := f.sync(r)
		is.True(!res.Failed())
		var released bool
		for _, c := range res.Changes.Entries {
			released = released || (c.Object.Kind == "NodePool" && c.Action == apply.Deleted && c.Workspace == f.key())
		}
		is.True(released)
		f.waitFor("pool deleted", func() bool { return len(f.cloud.Pools()) == 0 })
		f.waitFor("its nodes gone", func() bool { return len(nodesOf(f.pool())) == 0 })
		f.sync(r)
		is.Equal(f.cloud.Calls("BeginDelete"), 1) // released once, not once per sync
	})
}

// kaito-sync killed while its pool is being created: the next process finds the pool and waits
// for its operation instead of creating another.
func TestRestartDuringCreateKeepsOnePool(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, akstest.Options{})
	release := f.cloud.Hold()
	f.push(map[string]string{"workspaces/phi-3.yaml": workspaceYAML(1)}, "add phi-3")

	first, kill := context.WithCancel(context.Background())
	res := f.sync(f.reconciler(first))
	is.Equal(res.Nodes[f.key()].Reason, provision.ReasonProvisioning)
	f.waitFor("create sent", func() bool { return f.cloud.Calls("BeginCreateOrUpdate") == 1 })
	kill()

	second := f.reconciler(t.Context())
	res = f.sync(second)
	st := res.Nodes[f.key()]
	is.Equal(st.Reason, provision.ReasonProvisioning)
	is.True(strings.Contains(st.Message, "waiting for agent pool "+f.pool()))
	release()
	f.syncUntil(second, "ResourceReady", ready)
	f.waitPods(1)
	is.Equal(f.cloud.Calls("BeginCreateOrUpdate"), 1)
	is.Equal(len(f.cloud.Pools()), 1)
}

// Cloud failures reach the workspace's node state as a reason and a message the user can act
// on, and the pool is made once the cause is gone.
func TestCloudFailuresAreReported(t *testing.T) {
	quota := "Preflight validation check for resource(s) for container service aks1 in resource group rg failed. " +
		"Message: Operation could not be completed as it results in exceeding approved standardNCADSA100v4Family Cores quota. " +
		"Additional details - Deployment Model: Resource Manager, Location: eastus, Current Limit: 0, Current Usage: 0, Additional Required: 24, (Minimum) New Limit Required: 24."
	for _, tc := range []struct {
		name     string
		fault    akstest.Fault
		reason   string
		contains []string
	}{
		{"quota", akstest.Fault{API: "BeginCreateOrUpdate", Status: 400, Code: "QuotaExceeded", Message: quota},
			provision.ReasonQuotaExceeded, []string{"Standard_NC24ads_A100_v4×1", "standardNCADSA100v4Family", "limit 0", "in use 0", "more needed 24"}},
		{"throttled", akstest.Fault{API: "Get", Status: 429, Code: "TooManyRequests", Message: "too many requests", RetryAfter: 1},
			provision.ReasonThrottled, []string{"retrying after 1s"}},
		{"operation failed", akstest.Fault{API: "BeginCreateOrUpdate", LRO: true, Code: "ReconcileVMSSAgentPoolFailed", Message: "VM extension failed"},
			provision.ReasonProvisioningFailed, []string{"ReconcileVMSSAgentPoolFailed", "VM extension failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, akstest.Options{})
			f.cloud.Inject(tc.fault)
			r := f.reconciler(t.Context())
			f.push(map[string]string{"workspaces/phi-3.yaml": workspaceYAML(1)}, "add phi-3")
			_, st := f.syncUntil(r, tc.reason, func(st provision.NodeState) bool { return st.Reason != provision.ReasonProvisioning })
			is.Equal(st.Reason, tc.reason)
			for _, s := range tc.contains {
				if !strings.Contains(st.Message, s) {
					t.Errorf("message %q lacks %q", st.Message, s)
				}
			}
			f.cloud.Clear()
			t0 := time.Now()
			f.syncUntil(r, "ResourceReady after the cause is gone", ready)
			t.Logf("%s cleared → nodes Ready: %v", tc.name, time.Since(t0).Round(10*time.Millisecond))
			is.Equal(len(f.cloud.Pools()), 1)
		})
	}
}
