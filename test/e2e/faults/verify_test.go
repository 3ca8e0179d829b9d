package faults

import (
	"errors"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// With a keyring, only commits signed by one of its keys are synced: an unsigned commit, or one
// signed by another key, fails the sync with an error naming it, applies nothing and prunes
// nothing — though it removes a workspace — until a signed commit follows.
func TestVerifyCommits(t *testing.T) {
	release, ring := gitserver.NewSigningKey(t, "release")
	stranger, _ := gitserver.NewSigningKey(t, "stranger")
	f := newFixture(t, options{keyRing: ring})
	push := func(c gitserver.Change) string {
		h, err := f.git.Push("fleet", "main", c)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	push(gitserver.Change{Files: f.files("ws-a", "ws-b"), SignKey: release, Message: "two workspaces"})
	f.syncOK()
	before := f.objects()

	for _, tc := range []struct {
		name string
		key  *openpgp.Entity
		want string
	}{
		{"unsigned", nil, "is not signed"},
		{"signed by a key not in the keyring", stranger, "does not verify against the keyring"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			h := push(gitserver.Change{Files: f.files("ws-c"), Delete: []string{"workspaces/ws-b.yaml"}, SignKey: tc.key, Message: "sneak ws-c in, ws-b out"})
			res, err := f.sync()
			is.True(errors.Is(err, source.ErrUnverifiedCommit))
			t.Log(err)
			is.True(strings.Contains(err.Error(), "commit "+h[:12]+` ("sneak ws-c in, ws-b out"`)) // names the commit
			is.True(strings.Contains(err.Error(), tc.want))
			is.Equal(len(res.Changes.Entries), 0) // nothing applied, nothing pruned
			is.Equal(f.objects(), before)
		})
	}

	t.Run("a signed commit on top syncs again", func(t *testing.T) {
		is := is.New(t)
		push(gitserver.Change{Files: f.files("ws-d"), SignKey: release, Message: "reviewed"})
		res := f.syncOK()
		is.Equal(res.Changes.Count(apply.Deleted), perWorkspace) // ws-b, now that a trusted commit removes it
		for _, c := range res.Changes.Entries {
			if c.Action == apply.Deleted {
				is.Equal(c.Workspace, f.ns+"/ws-b")
			}
		}
		is.Equal(keys(f.objects()), objectsOf("ws-a", "ws-c", "ws-d"))
	})
}
