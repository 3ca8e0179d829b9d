package provisioning

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/provision/aks/akstest"
)

// ARM answering 500 — to reads, to the create, to the polls of a create under way — fails the
// node state with the status and ARM's message, and never makes a second pool: once the errors
// stop, the one pool is made (or the operation under way is followed to its end).
func TestCloudServerErrors(t *testing.T) {
	internal := func(api string) akstest.Fault {
		return akstest.Fault{API: api, Status: 500, Code: "InternalServerError", Message: "An internal error occurred while processing the request."}
	}
	for _, tc := range []struct {
		name    string
		faults  []akstest.Fault
		creates int // BeginCreateOrUpdate calls, refused ones included; 0: not checked
	}{
		// A pool that cannot be read is not created blind.
		{"reads fail", []akstest.Fault{internal("Get"), internal("NewListPager")}, 1},
		{"the create fails", []akstest.Fault{internal("BeginCreateOrUpdate")}, 0},
		// An operation whose polls failed is followed to its end, not started again.
		{"polls of the create under way fail", []akstest.Fault{internal("Poll")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, akstest.Options{CreateTime: 500 * time.Millisecond})
			for _, x := range tc.faults {
				f.cloud.Inject(x)
			}
			r := f.reconciler(t.Context())
			f.push(map[string]string{"workspaces/phi-3.yaml": workspaceYAML(1)}, "add phi-3")
			_, st := f.syncUntil(r, "a failure is reported", func(st provision.NodeState) bool { return st.Reason == provision.ReasonProvisioningFailed })
			t.Logf("under 500s: %s: %s", st.Reason, st.Message)
			is.True(strings.Contains(st.Message, "HTTP 500 InternalServerError")) // the status and the code
			is.True(strings.Contains(st.Message, "An internal error occurred"))   // and what ARM said
			// Syncs during the outage make no pool.
			for range 3 {
				f.sync(r)
			}
			is.True(len(f.cloud.Pools()) <= 1)
			f.cloud.Clear()
			t0 := time.Now()
			f.syncUntil(r, "ResourceReady once ARM answers", ready)
			t.Logf("500s cleared → nodes Ready: %v", time.Since(t0).Round(10*time.Millisecond))
			f.waitPods(1)
			is.Equal(len(f.cloud.Pools()), 1) // one pool, never two
			t.Logf("BeginCreateOrUpdate calls: %d", f.cloud.Calls("BeginCreateOrUpdate"))
			if tc.creates > 0 {
				is.Equal(f.cloud.Calls("BeginCreateOrUpdate"), tc.creates)
			}
		})
	}
}

// A pool whose create takes long (8s here; minutes on Azure) is created once however many syncs
// run meanwhile; each reports it as provisioning, and the workload is applied at once and waits.
func TestSlowCreateMakesOnePool(t *testing.T) {
	is := is.New(t)
	f := newFixture(t, akstest.Options{CreateTime: 8 * time.Second})
	r := f.reconciler(t.Context())
	f.push(map[string]string{"workspaces/phi-3.yaml": countedYAML(2)}, "add phi-3") // two pods on two nodes
	t0 := time.Now()
	syncs := 0
	_, st := f.syncUntil(r, "ResourceReady after a slow create", func(st provision.NodeState) bool {
		syncs++
		if !st.Ready {
			is.Equal(st.Reason, provision.ReasonProvisioning) // says it is on its way, never fails
		}
		return st.Ready
	})
	t.Logf("slow create: Ready after %v and %d syncs (%s)", time.Since(t0).Round(10*time.Millisecond), syncs, st.Message)
	is.True(syncs > 5)
	_, err := f.statefulSet()
	is.NoErr(err)
	f.waitPods(2)
	is.Equal(f.cloud.Calls("BeginCreateOrUpdate"), 1)
	is.Equal(len(f.cloud.Pools()), 1)
}
