package source

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
	"golang.org/x/crypto/ssh"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// sshRepo serves a repository "fleet" over SSH (and HTTP, which Commit pushes through).
func sshRepo(t *testing.T, opts gitserver.SSHOptions) (*gitserver.Server, *gitserver.SSHServer) {
	t.Helper()
	t.Setenv("KAITO_SYNC_SSH_KEY_PASSPHRASE", "")
	s := gitserver.New(t, gitserver.Options{})
	x := gitserver.NewSSHWith(t, s, opts)
	if _, err := s.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	return s, x
}

func TestGitSSHFetch(t *testing.T) {
	is := is.New(t)
	s, x := sshRepo(t, gitserver.SSHOptions{})
	h1, err := s.Commit("fleet", "main", map[string]string{"workspaces/a.yaml": "a: 1\n"}, "first")
	is.NoErr(err)

	url := x.URL("fleet")
	auth, err := AuthOptions{SSHKeyFile: x.KeyFile, KnownHostsFile: x.KnownHostsFile}.Auth(url)
	is.NoErr(err)
	g := NewGit(GitOptions{URL: url, Auth: auth, Path: "workspaces"})
	ctx := context.Background()

	snap, err := g.Fetch(ctx)
	is.NoErr(err)
	is.Equal(snap.Commit, h1)
	is.Equal(snap.Message, "first")
	b, err := fs.ReadFile(snap.Tree, "a.yaml")
	is.NoErr(err)
	is.Equal(string(b), "a: 1\n")

	// A second commit arrives by an incremental fetch, not a new clone.
	h2, err := s.Commit("fleet", "main", map[string]string{"workspaces/b.yaml": "b: 2\n"}, "second")
	is.NoErr(err)
	repo := g.repo
	snap, err = g.Fetch(ctx)
	is.NoErr(err)
	is.Equal(snap.Commit, h2)
	is.True(g.repo == repo) // same store: fetched into, not recloned
	is.Equal(g.fetches, 1)
	b, err = fs.ReadFile(snap.Tree, "b.yaml")
	is.NoErr(err)
	is.Equal(string(b), "b: 2\n")
	b, err = fs.ReadFile(snap.Tree, "a.yaml")
	is.NoErr(err)
	is.Equal(string(b), "a: 1\n")

	// Nothing new: the same commit, no fetch counted.
	snap, err = g.Fetch(ctx)
	is.NoErr(err)
	is.Equal(snap.Commit, h2)
	is.Equal(g.fetches, 1)
}

// Real hosts offer several host key types while a known_hosts file often pins one; the client
// must negotiate the pinned type instead of failing with a key mismatch.
func TestGitSSHHostWithSeveralKeyTypes(t *testing.T) {
	is := is.New(t)
	s, x := sshRepo(t, gitserver.SSHOptions{ExtraHostKey: true})
	h1, err := s.Commit("fleet", "main", map[string]string{"a.yaml": "a: 1\n"}, "first")
	is.NoErr(err)

	url := x.URL("fleet")
	auth, err := AuthOptions{SSHKeyFile: x.KeyFile, KnownHostsFile: x.KnownHostsFile}.Auth(url)
	is.NoErr(err)
	snap, err := NewGit(GitOptions{URL: url, Auth: auth}).Fetch(context.Background())
	is.NoErr(err)
	is.Equal(snap.Commit, h1)
}

func TestGitSSHHostKeyMismatch(t *testing.T) {
	is := is.New(t)
	s, x := sshRepo(t, gitserver.SSHOptions{})
	_, err := s.Commit("fleet", "main", map[string]string{"a.yaml": "a: 1\n"}, "first")
	is.NoErr(err)

	pub, _, err := ed25519.GenerateKey(rand.Reader)
	is.NoErr(err)
	other, err := ssh.NewPublicKey(pub)
	is.NoErr(err)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := "[127.0.0.1]:" + strings.TrimPrefix(x.Addr, "127.0.0.1:") + " " + string(ssh.MarshalAuthorizedKey(other))
	is.NoErr(os.WriteFile(kh, []byte(line), 0o600))

	url := x.URL("fleet")
	auth, err := AuthOptions{SSHKeyFile: x.KeyFile, KnownHostsFile: kh}.Auth(url)
	is.NoErr(err)
	_, err = NewGit(GitOptions{URL: url, Auth: auth}).Fetch(context.Background())
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "key mismatch")) // the pinned key wins
}

func TestSSHAuthNeedsKnownHosts(t *testing.T) {
	is := is.New(t)
	_, x := sshRepo(t, gitserver.SSHOptions{})
	for _, url := range []string{x.URL("fleet"), "git@127.0.0.1:fleet.git"} {
		auth, err := AuthOptions{SSHKeyFile: x.KeyFile}.Auth(url)
		is.True(err != nil)
		is.True(strings.Contains(err.Error(), "an SSH key needs --ssh-known-hosts"))
		is.Equal(auth, nil)
	}
}

func TestSSHAuthKeyPassphrase(t *testing.T) {
	is := is.New(t)
	s, x := sshRepo(t, gitserver.SSHOptions{})
	h1, err := s.Commit("fleet", "main", map[string]string{"a.yaml": "a: 1\n"}, "first")
	is.NoErr(err)

	// The server's client key, re-encrypted with a passphrase.
	raw, err := os.ReadFile(x.KeyFile)
	is.NoErr(err)
	key, err := ssh.ParseRawPrivateKey(raw)
	is.NoErr(err)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(*key.(*ed25519.PrivateKey), "", []byte("open sesame"))
	is.NoErr(err)
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	is.NoErr(os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600))

	url := x.URL("fleet")
	opts := AuthOptions{SSHKeyFile: keyFile, KnownHostsFile: x.KnownHostsFile}
	_, err = opts.Auth(url)
	is.True(err != nil) // no passphrase

	t.Setenv("KAITO_SYNC_SSH_KEY_PASSPHRASE", "open sesame")
	auth, err := opts.Auth(url)
	is.NoErr(err)
	snap, err := NewGit(GitOptions{URL: url, Auth: auth}).Fetch(context.Background())
	is.NoErr(err)
	is.Equal(snap.Commit, h1)
}

func TestSSHHostPort(t *testing.T) {
	is := is.New(t)
	for url, want := range map[string]string{
		"ssh://git@127.0.0.1:2222/fleet.git": "127.0.0.1:2222",
		"ssh://git@example.com/org/repo.git": "example.com:22",
		"ssh://git@[::1]:2222/fleet.git":     "[::1]:2222",
		"git@github.com:org/repo.git":        "github.com:22",
	} {
		is.Equal(sshHostPort(url), want) // url
	}
}
