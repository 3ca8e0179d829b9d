package status_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/status/branch"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

const phi3 = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: phi-3
  namespace: team-a
resource:
  instanceType: Standard_NC6s_v3
  labelSelector:
    matchLabels:
      apps: phi-3
inference:
  preset:
    name: phi-3-mini-4k-instruct
`

type published struct {
	rep       *status.Report
	committed bool
	err       error
}

// hydrate is a reconciler in hydrate mode (no cluster) on a loopback repository, and a reporter
// publishing its statuses on the repository's status branch.
type hydrate struct {
	srv  *gitserver.Server
	rec  *ksync.Reconciler
	w    *branch.Writer
	pubs chan published
}

func newHydrate(t *testing.T) *hydrate {
	t.Helper()
	srv := gitserver.New(t, gitserver.Options{})
	if _, err := srv.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	target, err := ksync.NewFolder(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	src := source.NewGit(source.GitOptions{URL: srv.RepoURL("fleet"), Path: "workspaces", Auth: srv.Auth()})
	rec := ksync.NewReconciler(src, target, presets.Default(), ksync.Options{Logger: slog.New(slog.DiscardHandler)})
	w := &branch.Writer{URL: srv.RepoURL("fleet"), Branch: branch.DefaultBranch, Auth: srv.Auth()}
	return &hydrate{srv: srv, rec: rec, w: w, pubs: make(chan published, 16)}
}

// start runs a reporter until stop (or the test's end).
func (h *hydrate) start(t *testing.T, now func() time.Time) (r *status.Reporter, stop func()) {
	t.Helper()
	r = status.NewReporter(status.ReporterOptions{Writer: h.w, Debounce: 50 * time.Millisecond, Now: now,
		OnPublish: func(rep *status.Report, committed bool, err error) { h.pubs <- published{rep, committed, err} }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return r, stop
}

func (h *hydrate) sync(t *testing.T) *ksync.Result {
	t.Helper()
	res, err := h.rec.SyncOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (h *hydrate) next(t *testing.T) published {
	t.Helper()
	select {
	case p := <-h.pubs:
		if p.err != nil {
			t.Fatal(p.err)
		}
		return p
	case <-time.After(20 * time.Second):
		t.Fatal("no publish")
	}
	return published{}
}

func TestReporterHydrateMode(t *testing.T) {
	h := newHydrate(t)
	r, stop := h.start(t, nil)
	is := is.New(t)

	c1, err := h.srv.Commit("fleet", "main", map[string]string{"workspaces/phi-3.yaml": phi3}, "add phi-3")
	is.NoErr(err)
	r.Observe(h.sync(t))
	p := h.next(t)
	is.True(p.committed)
	w := p.rep.Workspace("team-a/phi-3")
	is.Equal(w.ConditionStatus(status.WorkspaceReady), status.Unknown)
	is.Equal(w.Condition(status.WorkspaceReady).Reason, status.ReasonNoCluster)
	is.Equal(w.Objects[0].Health, status.HealthRendered)
	is.Equal(w.Source.Commit, c1)
	files, head1, err := h.srv.ReadBranch("fleet", branch.DefaultBranch)
	is.NoErr(err)
	is.True(strings.Contains(files["workspaces/team-a/phi-3.yaml"], "reason: NoCluster"))

	// The same commit synced again: nothing to write.
	r.Observe(h.sync(t))
	p = h.next(t)
	is.True(!p.committed)
	_, head, _ := h.srv.ReadBranch("fleet", branch.DefaultBranch)
	is.Equal(head, head1)

	// Two commits synced before the reporter writes: one commit naming both.
	c2, err := h.srv.Commit("fleet", "main", map[string]string{"workspaces/phi-3.yaml": strings.Replace(phi3, "NC6s", "NC12s", 1)}, "bigger")
	is.NoErr(err)
	res2 := h.sync(t)
	c3, err := h.srv.Commit("fleet", "main", map[string]string{"workspaces/bad.yaml": strings.ReplaceAll(phi3, "phi-3", "bad")[:40]}, "broken")
	is.NoErr(err)
	res3 := h.sync(t)
	r.Observe(res2)
	r.Observe(res3)
	p = h.next(t)
	is.True(p.committed)
	is.Equal(p.rep.SyncedCommits, []string{c2, c3})
	_, head2, _ := h.srv.ReadBranch("fleet", branch.DefaultBranch)
	msg := commitMessage(t, h.srv, head2)
	is.True(strings.Contains(msg, "Source-Commit: "+c2+"\nSource-Commit: "+c3+"\n"))
	is.True(len(p.rep.Problems) > 0) // the broken file is reported with its line
	is.True(strings.HasPrefix(p.rep.Problems[0].String(), "workspaces/bad.yaml:"))

	// A restart reads the statuses back: times do not move for what did not change.
	before := p.rep.Workspace("team-a/phi-3").Condition(status.WorkspaceReady).LastTransitionTime
	stop()
	for len(h.pubs) > 0 { // the second Observe may have caused one more (empty) publish
		<-h.pubs
	}
	r2, _ := h.start(t, func() time.Time { return time.Now().Add(time.Hour) }) // a moved time would show
	r2.Observe(res3)
	p = h.next(t)
	is.True(!p.committed)
	is.Equal(p.rep.Workspace("team-a/phi-3").Condition(status.WorkspaceReady).LastTransitionTime, before)
}
