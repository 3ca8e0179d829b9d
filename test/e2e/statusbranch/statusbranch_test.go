package statusbranch

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/status/branch"
	"github.com/kaito-sync/kaito-sync/test/e2e/fixtures"
)

var writeDocs = flag.Bool("docs", false, "write the dashboard of this run to docs/dashboard-example.md and .svg")

const phi3 = fixtures.Phi3Mini

// qwen asks for a SKU the subscription has no quota for.
const qwen = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: qwen-coder-32b
  namespace: NAMESPACE
resource:
  instanceType: Standard_NC96ads_A100_v4
  labelSelector:
    matchLabels:
      apps: qwen-coder-32b
inference:
  preset:
    name: qwen2.5-coder-32b-instruct
`

// typo names an instance type that does not exist (line 7).
const typo = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: mistral-7b
  namespace: NAMESPACE
resource:
  instanceType: Standard_NC6s_v9
  labelSelector:
    matchLabels:
      apps: mistral
inference:
  preset:
    name: mistral-7b-instruct
`

// broken does not parse: the list opened on line 4 is never closed.
const broken = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: [llama
`

func TestStatusBranch(t *testing.T) {
	addGPUNode(t, "gpu-nc6-status", "Standard_NC6s_v3", 1, map[string]string{"apps": "phi-3"})
	parent := newFixture(t)
	phi := parent.key("phi-3")

	t.Run("a pushed workspace goes through ResourceReady, InferenceReady, WorkspaceReady on the branch", func(t *testing.T) {
		is, f := is.New(t), parent.with(t)
		// The moment the workload becomes Ready, seen by polling the API server independently.
		var readyAt atomic.Int64
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				s, err := env.Client.AppsV1().StatefulSets(f.ns).Get(context.Background(), "phi-3", metav1.GetOptions{})
				if err == nil && s.Status.ReadyReplicas == 1 && s.Status.ObservedGeneration == s.Generation {
					readyAt.CompareAndSwap(0, time.Now().UnixNano())
				}
			}
		}()

		commit := f.push(map[string]string{"workspaces/phi-3.yaml": phi3, "workspaces/qwen.yaml": qwen}, "phi-3 and qwen-coder-32b")
		from := f.published()
		synced := time.Now()
		f.sync()
		first, _ := f.waitPublish(from, 30*time.Second, func(p publish) bool { return p.committed })
		w := first.rep.Workspace(phi)
		is.True(w != nil)
		is.Equal(w.Source.Commit, commit)
		is.Equal(w.ConditionStatus(status.ResourceReady), status.True) // the provisioner has its node
		t.Logf("first status commit %v after the sync: %v", first.at.Sub(synced).Round(time.Millisecond), conditions(w))

		done, next := f.waitPublish(from, 60*time.Second, func(p publish) bool {
			return p.committed && p.rep.Workspace(phi).Ready()
		})
		w = done.rep.Workspace(phi)
		is.Equal(w.ConditionStatus(status.InferenceReady), status.True)
		is.Equal(w.ConditionStatus(status.WorkspaceSucceeded), status.True)
		is.Equal(w.Nodes, []string{"gpu-nc6-status"})
		is.True(w.Endpoint != nil && w.Endpoint.ClusterIP != "" && w.Endpoint.Port == 80)
		for _, o := range w.Objects {
			is.Equal(o.Health, status.HealthCurrent)
		}
		// Each transition shows on the branch without a new sync, within seconds.
		ready := time.Unix(0, readyAt.Load())
		is.True(readyAt.Load() != 0)
		lag := done.at.Sub(ready)
		t.Logf("MEASURED: StatefulSet Ready → status branch commit with WorkspaceReady True: %v (%d writes since the sync)", lag.Round(time.Millisecond), next-from)
		is.True(lag < 5*time.Second)
		// Transition times: ResourceReady did not move when InferenceReady did.
		is.Equal(w.Condition(status.ResourceReady).LastTransitionTime, first.rep.Workspace(phi).Condition(status.ResourceReady).LastTransitionTime)

		rep, files, _ := f.branchReport()
		is.True(rep.Workspace(phi).Ready())
		is.True(strings.Contains(files[branch.ReadmeFile], "| 🟢 | "+f.ns+" | [phi-3]("))
		is.True(strings.Contains(files[branch.WorkspaceFile(f.ns, "phi-3")], "type: WorkspaceReady"))
	})

	t.Run("a workspace waiting for its node: each transition reaches the branch without a sync", func(t *testing.T) {
		is, f := is.New(t), parent.with(t)
		late := f.key("phi-3-late")
		from := f.published()
		// Labels and node name of this run only: a node left by an earlier run (-count) must not serve it.
		lateLabel := "late-" + f.ns
		f.push(map[string]string{"workspaces/late.yaml": strings.ReplaceAll(strings.Replace(phi3, "name: phi-3\n", "name: phi-3-late\n", 1), "apps: phi-3", "apps: "+lateLabel)}, "phi-3-late")
		f.sync()
		p, _ := f.waitPublish(from, 30*time.Second, func(p publish) bool { return p.committed && p.rep.Workspace(late) != nil })
		is.Equal(p.rep.Workspace(late).ConditionStatus(status.ResourceReady), status.False)
		is.Equal(p.rep.Workspace(late).Condition(status.ResourceReady).Reason, "Provisioning")

		// The node arrives; no sync runs. The watch sees the pod placed, then Ready.
		from = f.published()
		addGPUNode(t, "gpu-nc6-"+lateLabel, "Standard_NC6s_v3", 1, map[string]string{"apps": lateLabel})
		nodeReady := time.Now()
		rr, _ := f.waitPublish(from, 60*time.Second, func(p publish) bool {
			return p.committed && p.rep.Workspace(late).ConditionStatus(status.ResourceReady) == status.True
		})
		ir, _ := f.waitPublish(from, 60*time.Second, func(p publish) bool {
			return p.committed && p.rep.Workspace(late).ConditionStatus(status.InferenceReady) == status.True
		})
		wr, _ := f.waitPublish(from, 60*time.Second, func(p publish) bool { return p.committed && p.rep.Workspace(late).Ready() })
		t.Logf("MEASURED: node Ready → branch commit with ResourceReady True %v, InferenceReady True %v, WorkspaceReady True %v",
			rr.at.Sub(nodeReady).Round(time.Millisecond), ir.at.Sub(nodeReady).Round(time.Millisecond), wr.at.Sub(nodeReady).Round(time.Millisecond))
		is.True(wr.at.Sub(nodeReady) < 10*time.Second)
		is.Equal(wr.rep.Workspace(late).Nodes, []string{"gpu-nc6-" + lateLabel})
	})

	t.Run("a quota failure shows False with its reason", func(t *testing.T) {
		is, f := is.New(t), parent.with(t)
		rep, files, _ := f.branchReport()
		w := rep.Workspace(f.key("qwen-coder-32b"))
		is.True(w != nil)
		c := w.Condition(status.ResourceReady)
		is.Equal(c.Status, status.False)
		is.Equal(c.Reason, "QuotaExceeded")
		is.True(strings.Contains(c.Message, "quota"))
		is.Equal(w.Condition(status.WorkspaceReady).Reason, "QuotaExceeded")
		is.True(strings.Contains(files[branch.ReadmeFile], "| 🔴 **FAILING** | "+f.ns+" | [qwen-coder-32b]("))
		is.True(strings.Contains(files[branch.ReadmeFile], "**QuotaExceeded**"))
	})

	t.Run("a broken file and an invalid workspace show their errors with file:line", func(t *testing.T) {
		is, f := is.New(t), parent.with(t)
		from := f.published()
		f.push(map[string]string{"workspaces/broken.yaml": broken, "workspaces/mistral.yaml": typo}, "two mistakes")
		f.sync()
		p, _ := f.waitPublish(from, 30*time.Second, func(p publish) bool { return p.committed })
		w := p.rep.Workspace(f.key("mistral-7b"))
		is.True(w != nil)
		is.Equal(w.Condition(status.WorkspaceReady).Reason, status.ReasonValidationFailed)
		is.True(strings.HasPrefix(w.Condition(status.WorkspaceReady).Message, "workspaces/mistral.yaml:7:"))
		is.True(p.rep.Workspace(phi).Ready()) // the others keep running

		_, files, _ := f.branchReport()
		readme := files[branch.ReadmeFile]
		is.True(strings.Contains(readme, "`workspaces/mistral.yaml:7:"))
		is.True(strings.Contains(readme, "## Errors in the repository"))
		is.True(strings.Contains(readme, "`workspaces/broken.yaml:4:10:"))
		if *writeDocs {
			writeExample(t, readme, files[branch.SVGFile])
		}
	})

	t.Run("two syncs with nothing changed make no commit", func(t *testing.T) {
		is, f := is.New(t), parent.with(t)
		_, _, before := f.branchReport()
		for range 2 {
			from := f.published()
			f.sync()
			p, _ := f.waitPublish(from, 30*time.Second, func(publish) bool { return true })
			is.True(!p.committed)
		}
		_, _, after := f.branchReport()
		is.Equal(after, before)
	})

	t.Run("a competing push to the status branch is survived", func(t *testing.T) {
		is, f := is.New(t), parent.with(t)
		f.starvable = true
		// Someone keeps pushing notes to the status branch while statuses change, a few times a
		// second: often enough that most of our writes race one of theirs. (A pusher with no pause
		// at all can starve one Write; the reporter then tries again after RetryAfter.)
		ctx, cancel := context.WithCancel(context.Background())
		theirs := make(chan int)
		go func() {
			n := 0
			defer func() { theirs <- n }()
			for ctx.Err() == nil {
				if _, err := f.git.Commit("fleet", branch.DefaultBranch, map[string]string{fmt.Sprintf("notes/%03d.md", n): "note\n"}, "a note"); err == nil {
					n++
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Duration(20+rand.IntN(100)) * time.Millisecond):
				}
			}
		}()
		start := f.w.Retries()
		var last string
		for i := 0; i < 20 && f.w.Retries() == start; i++ {
			from := f.published()
			last = f.push(map[string]string{"workspaces/phi-3.yaml": phi3 + fmt.Sprintf("# revision %d\n", i)}, "touch phi-3")
			f.sync()
			f.waitPublish(from, 30*time.Second, func(p publish) bool { return p.committed }) // fails on a write error
		}
		cancel()
		notes := <-theirs
		t.Logf("MEASURED: %d competing pushes, %d of ours rebuilt on top of them", notes, f.w.Retries()-start)
		is.True(f.w.Retries() > start)
		rep, files, _ := f.branchReport()
		is.Equal(rep.SourceCommit, last)
		for i := range notes {
			_, ok := files[fmt.Sprintf("notes/%03d.md", i)]
			is.True(ok) // none of theirs lost
		}
	})

	t.Run("a deleted workspace disappears from the dashboard", func(t *testing.T) {
		is, f := is.New(t), parent.with(t)
		from := f.published()
		f.remove("remove phi-3 and the broken file", "workspaces/phi-3.yaml", "workspaces/broken.yaml")
		res := f.sync()
		is.Equal(res.PruneBlocked, "")
		f.waitPublish(from, 30*time.Second, func(p publish) bool { return p.committed && p.rep.Workspace(phi) == nil })
		rep, files, _ := f.branchReport()
		is.True(rep.Workspace(phi) == nil)
		is.True(rep.Workspace(f.key("qwen-coder-32b")) != nil)
		_, ok := files[branch.WorkspaceFile(f.ns, "phi-3")]
		is.True(!ok)
		is.True(!strings.Contains(files[branch.ReadmeFile], "[phi-3]"))
		is.True(!strings.Contains(files[branch.ReadmeFile], "broken.yaml"))
	})
}

func conditions(w *status.WorkspaceStatus) string {
	var parts []string
	for _, c := range w.Conditions {
		parts = append(parts, c.Type+"="+string(c.Status))
	}
	return strings.Join(parts, " ")
}

// writeExample commits nothing: it writes the dashboard of this run under docs/ for the lead to
// commit, with its picture and status links pointing where they will be found.
func writeExample(t *testing.T, readme, svg string) {
	t.Helper()
	docs := filepath.Join("..", "..", "..", "docs")
	readme = strings.ReplaceAll(readme, "]("+branch.SVGFile+")", "](dashboard-example.svg)")
	readme = strings.ReplaceAll(readme, "](workspaces/", "](https://git.example.com/fleet/blob/"+branch.DefaultBranch+"/workspaces/")
	head := "<!-- The README.md of the status branch after a run of test/e2e/statusbranch\n" +
		"     (go test ./test/e2e/statusbranch/ -run TestStatusBranch -docs). Links point at an example host. -->\n\n"
	if err := os.WriteFile(filepath.Join(docs, "dashboard-example.md"), []byte(head+readme), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "dashboard-example.svg"), []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
}
