package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// newKey makes a signing key and writes its armored public part to a keyring file.
func newKey(t *testing.T, name string) (*openpgp.Entity, string) {
	t.Helper()
	key, public := gitserver.NewSigningKey(t, name)
	file := filepath.Join(t.TempDir(), name+".asc")
	if err := os.WriteFile(file, []byte(public), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, file
}

func TestVerifyCommits(t *testing.T) {
	trusted, ringFile := newKey(t, "release")
	stranger, _ := newKey(t, "stranger")
	ring, err := ReadKeyRing(ringFile)
	if err != nil {
		t.Fatal(err)
	}
	s := gitserver.New(t, gitserver.Options{})
	if _, err := s.CreateRepo("r"); err != nil {
		t.Fatal(err)
	}
	g := NewGit(GitOptions{URL: s.RepoURL("r"), Auth: s.Auth(), KeyRing: ring})
	push := func(t *testing.T, key *openpgp.Entity, msg string) string {
		h, err := s.Push("r", "main", change(msg, key))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	t.Run("signed by a key of the keyring: synced", func(t *testing.T) {
		is := is.New(t)
		h := push(t, trusted, "signed")
		snap, err := g.Fetch(context.Background())
		is.NoErr(err)
		is.Equal(snap.Commit, h)
	})
	for _, tc := range []struct {
		name string
		key  *openpgp.Entity
		want []string
	}{
		{"unsigned: refused", nil, []string{"is not signed"}},
		{"signed by another key: refused", stranger, []string{"does not verify against the keyring", "by key " + stranger.PrimaryKey.KeyIdString()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			h := push(t, tc.key, "add something\n\nbody")
			for range 2 { // refused again when nothing new arrived
				_, err := g.Fetch(context.Background())
				is.True(errors.Is(err, ErrUnverifiedCommit))
				msg := err.Error()
				t.Log(msg)
				is.True(strings.Contains(msg, "commit "+h[:12]+` ("add something" by test@kaito-sync.invalid)`)) // names the commit
				for _, w := range tc.want {
					is.True(strings.Contains(msg, w))
				}
			}
			push(t, trusted, "signed again")
			_, err := g.Fetch(context.Background())
			is.NoErr(err) // a signed commit on top syncs again
		})
	}
}

func TestReadKeyRing(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	is.NoErr(os.WriteFile(garbage, []byte("not a key\n"), 0o644))
	_, err := ReadKeyRing(garbage)
	is.True(err != nil && strings.Contains(err.Error(), "not an armored OpenPGP public key block"))
	_, err = ReadKeyRing(filepath.Join(dir, "missing"))
	is.True(err != nil)
	_, file := newKey(t, "k")
	ring, err := ReadKeyRing(file)
	is.NoErr(err)
	is.True(strings.HasPrefix(ring, "-----BEGIN PGP PUBLIC KEY BLOCK-----"))
}

// change is a one-file commit, signed when key is set.
func change(msg string, key *openpgp.Entity) gitserver.Change {
	return gitserver.Change{Files: map[string]string{"f.yaml": msg + "\n"}, Message: msg, SignKey: key}
}
