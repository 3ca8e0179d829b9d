package faults

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// While the Git server is down, failing or too slow, every sync fails with an error that says so
// and changes nothing in the cluster; the commit pushed before the fault is synced once it clears.
func TestGitServerFaults(t *testing.T) {
	for _, tc := range []struct {
		name         string
		fetchTimeout time.Duration
		inject, heal func(*gitserver.Server) error
		want         string // in the sync error; "" means the sync succeeds under the fault
	}{
		{
			name:   "down (connection refused)",
			inject: (*gitserver.Server).Stop, heal: (*gitserver.Server).Restart,
			want: "connection refused",
		},
		{
			name:   "answering 500",
			inject: fault(gitserver.Fault{Status: 500}), heal: clear,
			want: "500",
		},
		{
			name:         "stalled past the fetch timeout",
			fetchTimeout: time.Second,
			inject:       fault(gitserver.Fault{Delay: time.Hour}), heal: clear,
			want: "no complete answer within 1s",
		},
		{
			name:   "slow but answering",
			inject: fault(gitserver.Fault{Delay: 200 * time.Millisecond}), heal: clear,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			f := newFixture(t, options{fetchTimeout: tc.fetchTimeout})
			f.push(f.files("ws-a", "ws-b", "ws-c"), "three workspaces")
			f.syncOK()
			before := f.objects()
			is.Equal(keys(before), objectsOf("ws-a", "ws-b", "ws-c")) // each: Service, headless Service, StatefulSet

			// Git now says: ws-c is gone, ws-d is new. Not seen until the fault clears.
			if _, err := f.git.Push("fleet", "main", gitserver.Change{Files: f.files("ws-d"), Delete: []string{"workspaces/ws-c.yaml"}, Message: "swap ws-c for ws-d"}); err != nil {
				t.Fatal(err)
			}
			is.NoErr(tc.inject(f.git))
			if tc.want != "" {
				for range 2 { // failing again changes nothing either
					t0 := time.Now()
					res, err := f.sync()
					t.Logf("sync under the fault: %v after %v", err, time.Since(t0).Round(time.Millisecond))
					is.True(err != nil)
					is.True(strings.Contains(err.Error(), tc.want))                  // the error says what happened
					is.True(strings.HasPrefix(err.Error(), "fetch: git "+f.git.URL)) // and where
					is.Equal(len(res.Changes.Entries), 0)                            // nothing applied, nothing pruned
					is.Equal(f.objects(), before)                                    // the cluster is as it was
				}
				is.NoErr(tc.heal(f.git))
			}
			t0 := time.Now()
			res := f.syncOK()
			t.Logf("converged in %v", time.Since(t0).Round(time.Millisecond))
			if tc.want == "" {
				is.True(time.Since(t0) > 200*time.Millisecond) // it was slow
				is.NoErr(tc.heal(f.git))
			}
			is.Equal(res.Changes.Count(apply.Created), perWorkspace) // ws-d
			is.Equal(res.Changes.Count(apply.Deleted), perWorkspace) // ws-c, which Git no longer declares
			after := f.objects()
			is.Equal(names(after), []string{"ws-a", "ws-b", "ws-d"})
			is.Equal(keys(after), objectsOf("ws-a", "ws-b", "ws-d"))
			forget(before, "ws-c")
			f.sameObjects(before, "after the fault")
		})
	}
}

func fault(x gitserver.Fault) func(*gitserver.Server) error {
	return func(s *gitserver.Server) error { s.SetFault(x); return nil }
}

func clear(s *gitserver.Server) error { s.ClearFault(); return nil }

// A force-push replacing main with unrelated history is synced like any commit: what it still
// declares keeps running untouched (same objects), what it no longer declares is pruned.
func TestForcePushedHistory(t *testing.T) {
	f := newFixture(t, options{})
	f.push(f.files("ws-a", "ws-b"), "two workspaces")
	f.push(f.files("ws-c"), "a third")
	f.syncOK()
	before := f.objects()

	t.Run("unrelated history declaring the same workspaces: nothing changes", func(t *testing.T) {
		is := is.New(t)
		files := f.files("ws-a", "ws-b", "ws-c")
		files["README.md"] = "rewritten history\n"
		h, err := f.git.Push("fleet", "main", gitserver.Change{Files: files, Orphan: true, Message: "rewrite"})
		is.NoErr(err)
		res := f.syncOK()
		is.Equal(res.Commit, h)
		is.Equal(res.Changes.Count(apply.Deleted), 0)
		is.Equal(res.Changes.Count(apply.Created), 0)
		is.Equal(f.objects(), before)
	})

	t.Run("unrelated history without one workspace: only that one is pruned", func(t *testing.T) {
		is := is.New(t)
		h, err := f.git.Push("fleet", "main", gitserver.Change{Files: f.files("ws-a", "ws-c"), Orphan: true, Message: "rewrite without ws-b"})
		is.NoErr(err)
		res := f.syncOK()
		is.Equal(res.Commit, h)
		is.Equal(res.Changes.Count(apply.Deleted), perWorkspace)
		for _, c := range res.Changes.Entries {
			if c.Action == apply.Deleted {
				is.Equal(c.Workspace, f.ns+"/ws-b")
			}
		}
		is.Equal(keys(f.objects()), objectsOf("ws-a", "ws-c"))
		forget(before, "ws-b")
		f.sameObjects(before, "after the force-push")
	})
}
