package gitserver_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

func clone(ctx context.Context, s *gitserver.Server, repo string) (*git.Repository, error) {
	return git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{URL: s.RepoURL(repo), Auth: s.Auth()})
}

func TestFaultsAndStop(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{})
	_, err := s.CreateRepo("r")
	is.NoErr(err)
	_, err = s.Commit("r", "main", map[string]string{"a": "1"}, "a")
	is.NoErr(err)
	ctx := context.Background()

	s.SetFault(gitserver.Fault{Status: 500})
	_, err = clone(ctx, s, "r")
	is.True(err != nil && strings.Contains(err.Error(), "500")) // the status reaches the client

	s.SetFault(gitserver.Fault{Delay: time.Minute})
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	t0 := time.Now()
	_, err = clone(short, s, "r")
	cancel()
	is.True(err != nil)
	is.True(time.Since(t0) < 10*time.Second) // the client's deadline ends the delay

	// A request held by a delay is served as soon as the fault is cleared.
	s.SetFault(gitserver.Fault{Delay: time.Minute})
	served := s.Served()
	done := make(chan error, 1)
	go func() { _, err := clone(ctx, s, "r"); done <- err }()
	for s.Served() == served {
		time.Sleep(5 * time.Millisecond)
	}
	s.ClearFault()
	is.NoErr(<-done)

	is.NoErr(s.Stop())
	_, err = clone(ctx, s, "r")
	is.True(err != nil && strings.Contains(err.Error(), "connection refused"))
	is.True(s.Stop() != nil) // already stopped
	is.NoErr(s.Restart())
	_, err = clone(ctx, s, "r") // same URL
	is.NoErr(err)
}

func TestOrphanForcePushAndSignedCommits(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{})
	_, err := s.CreateRepo("r")
	is.NoErr(err)
	_, err = s.Commit("r", "main", map[string]string{"a": "1", "b": "2"}, "first")
	is.NoErr(err)
	_, err = s.Commit("r", "main", map[string]string{"c": "3"}, "second")
	is.NoErr(err)

	key, _ := gitserver.NewSigningKey(t, "signer")
	h, err := s.Push("r", "main", gitserver.Change{Files: map[string]string{"a": "1"}, Orphan: true, SignKey: key, Message: "rewritten"})
	is.NoErr(err)
	files, head, err := s.ReadBranch("r", "main")
	is.NoErr(err)
	is.Equal(head, h)
	is.Equal(files, map[string]string{"a": "1"}) // only the new root's files

	r, err := clone(context.Background(), s, "r")
	is.NoErr(err)
	c, err := r.CommitObject(plumbing.NewHash(h))
	is.NoErr(err)
	is.Equal(len(c.ParentHashes), 0) // a root: the old history is gone from the branch
	var armored strings.Builder
	w, err := armor.Encode(&armored, openpgp.PublicKeyType, nil)
	is.NoErr(err)
	is.NoErr(key.Serialize(w))
	is.NoErr(w.Close())
	signer, err := c.Verify(armored.String())
	is.NoErr(err)
	is.Equal(signer.PrimaryKey.KeyId, key.PrimaryKey.KeyId)
}

func TestPushDir(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{User: "u", Password: "very-secret-pw"})
	_, err := s.CreateRepo("r")
	is.NoErr(err)
	_, err = s.Commit("r", "main", map[string]string{"old.yaml": "old\n"}, "first")
	is.NoErr(err)

	dir := t.TempDir()
	is.NoErr(os.MkdirAll(filepath.Join(dir, "ws"), 0o755))
	is.NoErr(os.WriteFile(filepath.Join(dir, "ws", "a.yaml"), []byte("a: 1\n"), 0o644))
	is.NoErr(os.Symlink("../../../etc/passwd", filepath.Join(dir, "ws", "link.yaml")))
	big := filepath.Join(dir, "ws", "big.yaml")
	f, err := os.Create(big)
	is.NoErr(err)
	is.NoErr(f.Truncate(8 << 20)) // sparse: costs nothing on disk
	is.NoErr(f.Close())

	h, err := s.PushDir("r", "main", dir, "from a folder")
	is.NoErr(err)
	r, err := clone(context.Background(), s, "r")
	is.NoErr(err)
	c, err := r.CommitObject(plumbing.NewHash(h))
	is.NoErr(err)
	is.Equal(len(c.ParentHashes), 1) // on top of the tip
	tree, err := c.Tree()
	is.NoErr(err)
	_, err = tree.FindEntry("old.yaml")
	is.True(err != nil) // the folder is the whole content
	e, err := tree.FindEntry("ws/link.yaml")
	is.NoErr(err)
	is.Equal(e.Mode, filemode.Symlink)
	size, err := tree.Size("ws/big.yaml")
	is.NoErr(err)
	is.Equal(size, int64(8<<20))
}
