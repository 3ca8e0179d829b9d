package faults

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kaito-sync/kaito-sync/sync/apply"
)

// roundTripper is an http.RoundTripper made of a function.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// kube-apiserver killed (SIGKILL) while a sync applies 40 workspaces (120 objects: each a Service,
// a headless Service and a StatefulSet) — right before the 50th server-side apply goes out, with others in flight, so some objects exist and some are
// being written: that sync reports the failures, a sync during the outage fails the same way,
// nothing is pruned; once the apiserver is back (same etcd) the next sync applies the rest, and
// what was created before the crash is the same object (same UID).
func TestAPIServerKilledMidApply(t *testing.T) {
	is := is.New(t)
	const n, killAt = 40, 50
	var patches atomic.Int64
	var kill sync.Once
	var killed, restarted atomic.Bool
	f := newFixture(t, options{transport: func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPatch && patches.Add(1) == killAt {
				kill.Do(func() {
					killed.Store(true)
					if err := env.StopAPIServer(); err != nil {
						t.Errorf("kill kube-apiserver: %v", err)
					}
				})
			}
			return next.RoundTrip(r)
		})
	}})
	// Registered after the fixture's, so it runs first: a failed test must not leave the
	// namespace's cleanup, nor the next tests, without an API server.
	t.Cleanup(func() {
		if killed.Load() && !restarted.Load() {
			if err := env.StartAPIServer(context.Background()); err != nil {
				t.Errorf("restart kube-apiserver: %v", err)
			}
		}
	})
	f.push(f.files(seq("ws", n)...), "forty workspaces")

	res, err := f.sync()
	is.NoErr(err)
	is.True(killed.Load())
	t.Logf("the sync during which it was killed: %s", res.Changes.Summary())
	is.True(res.Failed())                           // it says so
	is.Equal(res.Changes.Count(apply.Deleted), 0)   // nothing pruned
	is.True(res.Changes.Count(apply.Created) >= 10) // some made it before the kill
	is.True(res.Changes.Count(apply.Created) < killAt)
	failure := ""
	for _, c := range res.Changes.Entries {
		if c.Action == apply.Failed {
			failure = c.Err.Error()
			break
		}
	}
	t.Logf("first failure: %s", failure)
	// How the cut shows depends on the moment (connection refused, reset, HTTP/2 closed, EOF); each
	// error names the object and the API server's address.
	is.True(strings.Contains(failure, "apply failed") && strings.Contains(failure, strings.TrimPrefix(env.Config.Host, "https://")))

	res, err = f.sync() // during the outage
	is.NoErr(err)
	is.True(res.Failed())
	is.Equal(res.Changes.Count(apply.Deleted), 0)
	// Nothing claims a write it could not make; objects the watch cache shows as applied stay
	// "unchanged" (no request is needed to know that).
	is.Equal(res.Changes.Count(apply.Created)+res.Changes.Count(apply.Configured)+res.Changes.Count(apply.Recreated), 0)

	t0 := time.Now()
	is.NoErr(env.StartAPIServer(context.Background()))
	restarted.Store(true)
	t.Logf("kube-apiserver ready again after %v", time.Since(t0).Round(time.Millisecond))
	before := f.objects() // what the crash left: each must survive the convergence as it is
	t.Logf("%d objects of %d existed after the crash", len(before), perWorkspace*n)
	is.True(len(before) >= 10 && len(before) < perWorkspace*n)

	// The manager's watches reconnect on their own; a sync right away may still meet a cold
	// connection, so converge as the poll trigger would.
	t0 = time.Now()
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		res, err = f.sync()
		return err == nil && !res.Failed(), nil
	})
	is.NoErr(err)
	t.Logf("converged %v after the restart", time.Since(t0).Round(time.Millisecond))
	is.Equal(res.Changes.Count(apply.Deleted), 0)
	after := f.objects()
	is.Equal(keys(after), objectsOf(seq("ws", n)...)) // every workspace, each once
	f.sameObjects(before, "after the restart")
	is.NoErr(env.Check()) // controller-manager, scheduler and kwok rode it out
}
