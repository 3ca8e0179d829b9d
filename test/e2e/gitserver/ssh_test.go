package gitserver_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/util"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/matryer/is"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

// sshAuth is go-git auth from a key file and a known_hosts file, as kaito-sync builds it.
func sshAuth(t *testing.T, keyFile, knownHostsFile string) *gitssh.PublicKeys {
	t.Helper()
	is := is.New(t)
	keys, err := gitssh.NewPublicKeysFromFile(gitserver.SSHUser, keyFile, "")
	is.NoErr(err)
	keys.HostKeyCallback, err = gitssh.NewKnownHostsCallback(knownHostsFile)
	is.NoErr(err)
	return keys
}

// sshClient dials the server with x/crypto/ssh directly, to send commands go-git never sends.
func sshClient(t *testing.T, x *gitserver.SSHServer, user string) *ssh.Client {
	t.Helper()
	is := is.New(t)
	pem, err := os.ReadFile(x.KeyFile)
	is.NoErr(err)
	signer, err := ssh.ParsePrivateKey(pem)
	is.NoErr(err)
	c, err := ssh.Dial("tcp", x.Addr, &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(x.HostKey),
	})
	is.NoErr(err)
	t.Cleanup(func() { c.Close() })
	return c
}

func writeKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := gitserver.WriteSSHKey(p, priv); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSSHCloneAndPush(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{})
	x := gitserver.NewSSH(t, s)
	_, err := s.CreateRepo("team/fleet")
	is.NoErr(err)
	h1, err := s.Commit("team/fleet", "main", map[string]string{"a.yaml": "a: 1\n"}, "first")
	is.NoErr(err)

	url := x.URL("team/fleet")
	is.True(strings.HasPrefix(url, "ssh://git@127.0.0.1:"))
	kh, err := os.ReadFile(x.KnownHostsFile)
	is.NoErr(err)
	is.True(strings.HasPrefix(string(kh), "[127.0.0.1]:"+strings.TrimPrefix(x.Addr, "127.0.0.1:")+" ssh-ed25519 "))

	// Clone over SSH (git upload-pack).
	auth := sshAuth(t, x.KeyFile, x.KnownHostsFile)
	fs := memfs.New()
	r, err := git.Clone(memory.NewStorage(), fs, &git.CloneOptions{URL: url, Auth: auth})
	is.NoErr(err)
	head, err := r.Head()
	is.NoErr(err)
	is.Equal(head.Hash().String(), h1)
	content, err := util.ReadFile(fs, "a.yaml")
	is.NoErr(err)
	is.Equal(string(content), "a: 1\n")

	// Push over SSH (git receive-pack); the HTTP side sees it.
	wt, err := r.Worktree()
	is.NoErr(err)
	is.NoErr(util.WriteFile(fs, "b.yaml", []byte("b: 2\n"), 0o644))
	_, err = wt.Add("b.yaml")
	is.NoErr(err)
	sig := &object.Signature{Name: "test", Email: "test@kaito-sync.invalid"}
	h2, err := wt.Commit("second", &git.CommitOptions{Author: sig, Committer: sig})
	is.NoErr(err)
	is.NoErr(r.Push(&git.PushOptions{Auth: auth}))
	files, tip, err := s.ReadBranch("team/fleet", "main")
	is.NoErr(err)
	is.Equal(tip, h2.String())
	is.Equal(files, map[string]string{"a.yaml": "a: 1\n", "b.yaml": "b: 2\n"})

	// A fetch over SSH sees a commit pushed over HTTP.
	h3, err := s.Commit("team/fleet", "main", map[string]string{"c.yaml": "c: 3\n"}, "third")
	is.NoErr(err)
	is.NoErr(r.Fetch(&git.FetchOptions{Auth: auth}))
	ref, err := r.Reference(plumbing.NewRemoteReferenceName("origin", "main"), true)
	is.NoErr(err)
	is.Equal(ref.Hash().String(), h3)
}

func TestSSHWrongClientKeyRefused(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{})
	x := gitserver.NewSSH(t, s)
	_, err := s.CreateRepo("fleet")
	is.NoErr(err)
	_, err = s.Commit("fleet", "main", map[string]string{"a.yaml": "a: 1\n"}, "first")
	is.NoErr(err)

	_, err = git.Clone(memory.NewStorage(), nil, &git.CloneOptions{
		URL: x.URL("fleet"), Auth: sshAuth(t, writeKey(t), x.KnownHostsFile),
	})
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "unable to authenticate")) // the server refused the key

	// The right key with another user is refused too.
	pem, err := os.ReadFile(x.KeyFile)
	is.NoErr(err)
	signer, err := ssh.ParsePrivateKey(pem)
	is.NoErr(err)
	_, err = ssh.Dial("tcp", x.Addr, &ssh.ClientConfig{
		User: "alice", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(x.HostKey),
	})
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "unable to authenticate"))
}

func TestSSHHostKeyPinned(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{})
	x := gitserver.NewSSH(t, s)
	_, err := s.CreateRepo("fleet")
	is.NoErr(err)
	_, err = s.Commit("fleet", "main", map[string]string{"a.yaml": "a: 1\n"}, "first")
	is.NoErr(err)

	// known_hosts names this very address with another ed25519 key.
	otherPub, _, err := ed25519.GenerateKey(rand.Reader)
	is.NoErr(err)
	other, err := ssh.NewPublicKey(otherPub)
	is.NoErr(err)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	is.NoErr(os.WriteFile(kh, []byte(knownhosts.Line([]string{x.Addr}, other)+"\n"), 0o600))

	_, err = git.Clone(memory.NewStorage(), nil, &git.CloneOptions{
		URL: x.URL("fleet"), Auth: sshAuth(t, x.KeyFile, kh),
	})
	is.True(err != nil)
	var keyErr *knownhosts.KeyError
	is.True(errors.As(err, &keyErr)) // host key mismatch
	is.True(len(keyErr.Want) == 1)   // the pinned key was known, and did not match

	// A known_hosts file without this host refuses it too.
	is.NoErr(os.WriteFile(kh, []byte(knownhosts.Line([]string{"127.0.0.2:22"}, x.HostKey)+"\n"), 0o600))
	_, err = git.Clone(memory.NewStorage(), nil, &git.CloneOptions{
		URL: x.URL("fleet"), Auth: sshAuth(t, x.KeyFile, kh),
	})
	is.True(errors.As(err, &keyErr))
	is.Equal(len(keyErr.Want), 0) // unknown host
}

func TestSSHRefusesOtherCommands(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{})
	x := gitserver.NewSSH(t, s)
	_, err := s.CreateRepo("fleet")
	is.NoErr(err)
	outside := filepath.Join(filepath.Dir(s.Dir), filepath.Base(s.Dir)+"-outside.git")
	t.Cleanup(func() { os.RemoveAll(outside) })
	is.NoErr(os.Mkdir(outside, 0o755))
	is.NoErr(os.WriteFile(filepath.Join(outside, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644))
	is.NoErr(os.Symlink(outside, filepath.Join(s.Dir, "link.git")))

	c := sshClient(t, x, gitserver.SSHUser)
	for _, cmd := range []string{
		"ls",
		"git-upload-pack",
		"git upload-pack '/fleet.git'",
		"git-upload-archive '/fleet.git'",
		"git-upload-pack '/missing.git'",
		"git-upload-pack '../" + filepath.Base(s.Dir) + "-outside.git'",
		"git-upload-pack '/../" + filepath.Base(s.Dir) + "-outside.git'",
		"git-upload-pack '" + outside + "'",
		"git-upload-pack '/link.git'", // a symbolic link out of the folder
		"git-upload-pack '/fleet.git'; touch /tmp/x",
		"git-upload-pack '/fleet.git' '/fleet.git'",
		"git-upload-pack $(id)",
		"git-upload-pack 'fleet.git",
	} {
		sess, err := c.NewSession()
		is.NoErr(err)
		err = sess.Run(cmd)
		is.True(err != nil) // refused
		sess.Close()
	}

	// A quoted path that git and go-git write is accepted.
	sess, err := c.NewSession()
	is.NoErr(err)
	sess.Stdin = strings.NewReader("0000") // flush: the client wants nothing
	out, err := sess.Output(`git-upload-pack 'fle'\''et'`)
	is.True(err != nil) // fle'et is not a valid repository name
	is.Equal(len(out), 0)

	sess, err = c.NewSession()
	is.NoErr(err)
	sess.Stdin = strings.NewReader("0000")
	out, err = sess.Output(`git-upload-pack '/fleet.git'`)
	is.NoErr(err)                 // exit status 0
	is.Equal(string(out), "0000") // an empty repository advertises no refs
}

func TestSSHCloseEndsRunningSessions(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{})
	x, err := s.StartSSH()
	is.NoErr(err)
	_, err = s.CreateRepo("fleet")
	is.NoErr(err)
	_, err = s.Commit("fleet", "main", map[string]string{"a.yaml": "a: 1\n"}, "first")
	is.NoErr(err)

	// upload-pack advertises its refs, then waits for the client, which says nothing.
	c := sshClient(t, x, gitserver.SSHUser)
	sess, err := c.NewSession()
	is.NoErr(err)
	stdout, err := sess.StdoutPipe()
	is.NoErr(err)
	is.NoErr(sess.Start("git-upload-pack '/fleet.git'"))
	buf := make([]byte, 4)
	_, err = stdout.Read(buf) // the advertisement started: git is running
	is.NoErr(err)

	is.NoErr(x.Close()) // returns once every connection, process and goroutine is gone
	is.True(sess.Wait() != nil)
	_, err = os.Stat(x.KeyFile)
	is.True(errors.Is(err, os.ErrNotExist)) // key files removed
	is.NoErr(x.Close())                     // idempotent
}
