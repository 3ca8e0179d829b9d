//go:build linux

// Package ha proves kaito-sync runs as replicas the way controllers do: two real processes share a
// Lease; only the leader syncs, applies and writes statuses; when it dies the other takes over and
// the next push lands, with nothing applied twice and no status commit written twice; /metrics
// shows each step.
package ha

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kaito-sync/kaito-sync/test/e2e/fixtures"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

const adapter = `  adapters:
    - source:
        name: support-tone
        image: myregistry.azurecr.io/adapters/support-tone:0.1.0
      strength: "0.5"
`

const (
	leaderSeries = "kaito_sync_leader"
	synced       = `kaito_sync_syncs_total{result="success"}`
	created      = `kaito_sync_objects_total{action="created"}`
	configured   = `kaito_sync_objects_total{action="configured"}`
	unchanged    = `kaito_sync_objects_total{action="unchanged"}`
	triggered    = `kaito_sync_webhook_deliveries_total{outcome="triggered",provider="github"}`
)

func revision(commit string) string {
	return `kaito_sync_last_synced_revision_info{revision="` + commit + `"}`
}

func TestTwoReplicasOneLeader(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	env.AddReadyGPUNode(t, testenv.GPUNode{Name: "ha-gpu-1", InstanceType: "Standard_NC6s_v3", GPUs: 1,
		Labels: map[string]string{"apps": "phi-3"}, SKUTaint: true})
	srv := gitserver.New(t, gitserver.Options{})
	_, err := srv.CreateRepo("fleet")
	is.NoErr(err)
	phi3 := strings.ReplaceAll(fixtures.Phi3Mini, "NAMESPACE", ns)
	c1, err := srv.Commit("fleet", "main", map[string]string{"workspaces/phi-3.yaml": phi3}, "add phi-3")
	is.NoErr(err)

	dir := t.TempDir()
	pwFile, secretFile := filepath.Join(dir, "git-password"), filepath.Join(dir, "webhook-secret")
	const secret = "ha-webhook-secret"
	is.NoErr(os.WriteFile(pwFile, []byte(srv.Password), 0o600))
	is.NoErr(os.WriteFile(secretFile, []byte(secret), 0o600))
	args := []string{"sync", "--repo", srv.RepoURL("fleet"), "--branch", "main", "--path", "workspaces",
		"--kubeconfig", env.Kubeconfig, "--git-username", srv.User, "--git-password-file", pwFile,
		"--webhook-secret-file", secretFile, "--interval", "1h", "--log-format", "json",
		"--leader-elect", "--leader-election-namespace", ns, "--leader-election-id", "kaito-sync",
		"--leader-election-lease-duration", "3s", "--leader-election-renew-deadline", "2s",
		"--leader-election-retry-period", "250ms"}

	a, b := startReplica(t, "a", args...), startReplica(t, "b", args...)
	var lead, follow *replica
	waitFor(t, 60*time.Second, "one replica to lead and sync", func() bool {
		for _, r := range []*replica{a, b} {
			if r.value(leaderSeries) == 1 && r.value(synced) >= 1 {
				lead = r
			}
		}
		return lead != nil
	})
	follow = a
	if lead == a {
		follow = b
	}
	t.Logf("leader %s, follower %s", lead.name, follow.name)

	t.Run("only the leader syncs and applies", func(t *testing.T) {
		is := is.New(t)
		is.Equal(lead.value(created), 3.0) // the Service, the headless Service and the StatefulSet
		is.Equal(lead.value(revision(c1)), 1.0)
		_, err := env.Client.AppsV1().StatefulSets(ns).Get(ctx, "phi-3", metav1.GetOptions{})
		is.NoErr(err)
		for _, svc := range []string{"phi-3", "phi-3-headless"} {
			_, err := env.Client.CoreV1().Services(ns).Get(ctx, svc, metav1.GetOptions{})
			is.NoErr(err)
		}
		for _, r := range []*replica{lead, follow} { // a follower is ready too: it takes over at once
			for _, probe := range []string{"/healthz", "/readyz"} {
				resp, err := http.Get(r.metrics + probe)
				is.NoErr(err)
				resp.Body.Close()
				is.Equal(resp.StatusCode, http.StatusOK)
			}
		}
		m, err := follow.scrape()
		is.NoErr(err)
		is.Equal(m[leaderSeries], 0.0)
		for series := range m {
			is.True(!strings.HasPrefix(series, "kaito_sync_syncs_total")) // the follower never synced
		}
		waitFor(t, 30*time.Second, "the status branch to name "+c1, func() bool { return statusCommits(t, srv, c1) >= 1 })
	})

	var takeover time.Duration
	t.Run("kill -9 the leader: the follower takes over and applies nothing twice", func(t *testing.T) {
		is := is.New(t)
		is.NoErr(lead.cmd.Process.Signal(syscall.SIGKILL))
		<-lead.exited
		takeover = waitFor(t, 30*time.Second, "the follower to lead and sync", func() bool {
			return follow.value(leaderSeries) == 1 && follow.value(synced) >= 1
		})
		t.Logf("takeover after SIGKILL: %s (lease 3s, retry 250ms)", takeover.Round(time.Millisecond))
		is.True(takeover < 10*time.Second)
		is.Equal(follow.value(created), 0.0)    // nothing created again
		is.Equal(follow.value(configured), 0.0) // nor rewritten
		is.Equal(follow.value(unchanged), 3.0)  // the leader's three objects
	})

	t.Run("the next push is applied by the new leader, and its status committed once", func(t *testing.T) {
		is := is.New(t)
		c2, err := srv.Commit("fleet", "main", map[string]string{"workspaces/phi-3.yaml": phi3 + adapter}, "add an adapter")
		is.NoErr(err)
		pushed := time.Now()
		code, err := follow.push(secret)
		is.NoErr(err)
		is.Equal(code, 202)
		waitFor(t, 30*time.Second, "the adapter to be applied", func() bool {
			s, err := env.Client.AppsV1().StatefulSets(ns).Get(ctx, "phi-3", metav1.GetOptions{})
			return err == nil && hasInitContainer(s, "support-tone")
		})
		t.Logf("push → applied by the new leader: %s", time.Since(pushed).Round(time.Millisecond))
		is.Equal(follow.value(triggered), 1.0)
		is.True(follow.value("kaito_sync_git_fetch_duration_seconds_count") >= 2) // takeover sync and this one
		body, err := follow.scrapeText()
		is.NoErr(err)
		is.True(!strings.Contains(body, srv.Password)) // no credential in the metrics
		is.True(!strings.Contains(body, secret))
		is.Equal(follow.value(revision(c2)), 1.0)
		is.Equal(follow.value(revision(c1)), 0.0) // one revision series at a time
		is.True(follow.value(configured) >= 1)
		waitFor(t, 30*time.Second, "the status branch to name "+c2, func() bool { return statusCommits(t, srv, c2) >= 1 })

		// SIGTERM: the leader finishes, writes its last statuses and releases the Lease.
		stopped := time.Now()
		is.NoErr(follow.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case <-follow.exited:
		case <-time.After(40 * time.Second):
			t.Fatal("no exit within the shutdown grace period after SIGTERM")
		}
		t.Logf("SIGTERM → exit: %s", time.Since(stopped).Round(time.Millisecond))
		is.NoErr(follow.exitErr) // exit code 0
		lease, err := env.Client.CoordinationV1().Leases(ns).Get(ctx, "kaito-sync", metav1.GetOptions{})
		is.NoErr(err)
		is.True(lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "") // released, not left to expire
		// One writer at a time: every status commit records a change, none repeats its parent
		// (two replicas publishing the same statuses would), and the branch is one line of history.
		out, err := exec.Command("git", "--git-dir", filepath.Join(srv.Dir, "fleet.git"), "log", "--format=%T %P", "kaito-status", "--").Output()
		is.NoErr(err)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		for i, l := range lines {
			f := strings.Fields(l)
			is.True(len(f) <= 2) // no merge commits
			if i+1 < len(lines) {
				is.True(f[0] != strings.Fields(lines[i+1])[0]) // a status commit that changed nothing
			}
		}
		t.Logf("status commits: %d", len(lines))
	})
}

func hasInitContainer(s *appsv1.StatefulSet, name string) bool {
	for _, c := range s.Spec.Template.Spec.InitContainers {
		if strings.Contains(c.Name, name) {
			return true
		}
	}
	return false
}

// statusCommits counts the status branch's commits that name commit as a source commit.
func statusCommits(t *testing.T, srv *gitserver.Server, commit string) int {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", filepath.Join(srv.Dir, "fleet.git"), "log", "--format=%B", "kaito-status", "--").Output()
	if err != nil {
		return 0 // the branch does not exist yet
	}
	return strings.Count(string(out), "Source-Commit: "+commit)
}
