package gitserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHUser is the only user the SSH server accepts.
const SSHUser = "git"

// SSHOptions configure StartSSHWith. The zero value is ready to use.
type SSHOptions struct {
	// ExtraHostKey makes the server also offer an ECDSA P-256 host key that KnownHostsFile does
	// not list, as real hosts offer several key types (GitHub offers ed25519, ECDSA and RSA). A
	// client must then negotiate the key type its known_hosts pins.
	ExtraHostKey bool
}

// SSHServer serves the repositories of a Server over SSH (git-upload-pack and git-receive-pack
// run by the real Git), authenticating user "git" by one generated client key.
type SSHServer struct {
	Addr string // 127.0.0.1:<port>
	// KeyFile holds the client's private key (OpenSSH format, no passphrase), the only key the
	// server accepts.
	KeyFile string
	// KnownHostsFile pins the server's ed25519 host key: one line "[127.0.0.1]:<port> ssh-ed25519 ...".
	KnownHostsFile string
	HostKey        ssh.PublicKey // the ed25519 host key KnownHostsFile lists
	ClientKey      ssh.PublicKey // the public half of KeyFile

	srv    *Server
	keyDir string
	ln     net.Listener
	config *ssh.ServerConfig

	ctx    context.Context // cancelled by Close: kills running git processes
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the server started

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}

	closeOnce sync.Once
	closeErr  error
}

// StartSSH serves s's repositories over SSH on a free loopback port until Close.
func (s *Server) StartSSH() (*SSHServer, error) {
	return s.StartSSHWith(SSHOptions{})
}

// StartSSHWith is StartSSH with options.
func (s *Server) StartSSHWith(opts SSHOptions) (_ *SSHServer, err error) {
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	clientKey, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		return nil, err
	}

	keyDir, err := os.MkdirTemp("", "kaito-sync-gitserver-ssh-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(keyDir)
		}
	}()
	keyFile := filepath.Join(keyDir, "id_ed25519")
	if err := WriteSSHKey(keyFile, clientPriv); err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	knownHostsFile := filepath.Join(keyDir, "known_hosts")
	line := knownhosts.Line([]string{addr}, hostSigner.PublicKey()) + "\n"
	if err := os.WriteFile(knownHostsFile, []byte(line), 0o600); err != nil {
		ln.Close()
		return nil, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	x := &SSHServer{
		Addr:           addr,
		KeyFile:        keyFile,
		KnownHostsFile: knownHostsFile,
		HostKey:        hostSigner.PublicKey(),
		ClientKey:      clientKey,
		srv:            s,
		keyDir:         keyDir,
		ln:             ln,
		ctx:            ctx,
		cancel:         cancel,
		conns:          map[net.Conn]struct{}{},
	}
	want := clientKey.Marshal()
	x.config = &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			keyOK := subtle.ConstantTimeCompare(key.Marshal(), want) == 1
			if meta.User() != SSHUser || !keyOK {
				return nil, fmt.Errorf("gitserver: key refused for user %q", meta.User())
			}
			return nil, nil
		},
	}
	x.config.AddHostKey(hostSigner)
	if opts.ExtraHostKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			ln.Close()
			cancel()
			return nil, err
		}
		signer, err := ssh.NewSignerFromKey(k)
		if err != nil {
			ln.Close()
			cancel()
			return nil, err
		}
		x.config.AddHostKey(signer)
	}

	x.wg.Add(1)
	go x.serve()
	return x, nil
}

// NewSSH starts an SSH server for s for one test and closes it when the test ends.
func NewSSH(t testing.TB, s *Server) *SSHServer {
	t.Helper()
	return NewSSHWith(t, s, SSHOptions{})
}

// NewSSHWith is NewSSH with options.
func NewSSHWith(t testing.TB, s *Server, opts SSHOptions) *SSHServer {
	t.Helper()
	x, err := s.StartSSHWith(opts)
	if err != nil {
		t.Fatalf("gitserver ssh: %v", err)
	}
	t.Cleanup(func() {
		if err := x.Close(); err != nil {
			t.Logf("gitserver ssh close: %v", err)
		}
	})
	return x
}

// WriteSSHKey writes an ed25519 private key in OpenSSH format, readable only by its owner.
func WriteSSHKey(path string, key ed25519.PrivateKey) error {
	block, err := ssh.MarshalPrivateKey(key, "kaito-sync test")
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}

// URL is the SSH clone URL of a repository: ssh://git@127.0.0.1:<port>/<repo>.git.
func (x *SSHServer) URL(repo string) string {
	return "ssh://" + SSHUser + "@" + x.Addr + "/" + repo + ".git"
}

// Close stops listening, drops every connection, kills running git processes, waits for every
// goroutine the server started and removes the key files.
func (x *SSHServer) Close() error {
	x.closeOnce.Do(func() {
		x.cancel()
		err := x.ln.Close()
		x.mu.Lock()
		x.closed = true
		for c := range x.conns {
			c.Close()
		}
		x.mu.Unlock()
		x.wg.Wait()
		x.closeErr = errors.Join(err, os.RemoveAll(x.keyDir))
	})
	return x.closeErr
}

func (x *SSHServer) serve() {
	defer x.wg.Done()
	for {
		c, err := x.ln.Accept()
		if err != nil {
			return // closed
		}
		x.mu.Lock()
		if x.closed {
			x.mu.Unlock()
			c.Close()
			return
		}
		x.conns[c] = struct{}{}
		x.wg.Add(1)
		x.mu.Unlock()
		go x.handleConn(c)
	}
}

func (x *SSHServer) handleConn(c net.Conn) {
	defer x.wg.Done()
	defer func() {
		x.mu.Lock()
		delete(x.conns, c)
		x.mu.Unlock()
		c.Close()
	}()
	// Bound the handshake so a client that stalls cannot hold the connection open.
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	conn, chans, reqs, err := ssh.NewServerConn(c, x.config)
	if err != nil {
		return // handshake or authentication failed
	}
	_ = c.SetDeadline(time.Time{})
	defer conn.Close()

	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		ssh.DiscardRequests(reqs) // global requests (keepalives, port forwarding): refused
	}()

	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			x.handleSession(ch, chReqs)
		}()
	}
	// chans is closed once the connection is gone; sessions end with it.
	sessions.Wait()
}

// handleSession runs the first acceptable exec request and refuses every other request. The
// requests end when the channel is closed by both sides or the connection goes away.
func (x *SSHServer) handleSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var done chan struct{}
	for req := range reqs {
		if req.Type != "exec" || done != nil {
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			continue
		}
		service, dir, err := x.parseCommand(payload.Command)
		if err != nil {
			fmt.Fprintf(ch.Stderr(), "gitserver: %v\n", err)
			_ = req.Reply(false, nil)
			continue
		}
		_ = req.Reply(true, nil)
		done = make(chan struct{})
		go func() {
			defer close(done)
			x.run(ch, service, dir)
		}()
	}
	if done != nil {
		<-done
	}
}

// run executes git <service> <dir> wired to the channel, sends its exit status and closes the
// channel.
func (x *SSHServer) run(ch ssh.Channel, service, dir string) {
	defer ch.Close()
	cmd := exec.CommandContext(x.ctx, x.srv.git, service, dir)
	cmd.Dir = x.srv.Dir
	cmd.Env = append(gitEnv(x.srv.Dir), "PATH="+os.Getenv("PATH"))
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "gitserver: %v\n", err)
		sendExitStatus(ch, 255)
		return
	}
	// Copied here rather than by exec (cmd.Stdin = ch): exec's Wait would wait for the client to
	// close its side, while a client may wait for the exit status first.
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(stdin, ch)
		stdin.Close()
	}()
	status := 0
	if err := cmd.Wait(); err != nil {
		status = 255
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			status = exit.ExitCode()
		}
	}
	sendExitStatus(ch, status)
	// Closing the channel ends the copy once the client closes its side too, or the connection
	// goes away.
	ch.Close()
	<-copied
}

func sendExitStatus(ch ssh.Channel, status int) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
}

// parseCommand accepts `git-upload-pack '<path>'` and `git-receive-pack '<path>'` naming a bare
// repository under the server's folder, and returns the git subcommand and the repository's
// folder.
func (x *SSHServer) parseCommand(command string) (service, dir string, err error) {
	prog, arg, ok := strings.Cut(command, " ")
	if !ok {
		return "", "", fmt.Errorf("command %q refused", command)
	}
	switch prog {
	case "git-upload-pack":
		service = "upload-pack"
	case "git-receive-pack":
		service = "receive-pack"
	default:
		return "", "", fmt.Errorf("command %q refused: only git-upload-pack and git-receive-pack", prog)
	}
	p, err := shellUnquote(arg)
	if err != nil {
		return "", "", err
	}
	name := strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	if !repoName.MatchString(name) { // no "..", no absolute path outside the folder
		return "", "", fmt.Errorf("bad repository path %q", p)
	}
	dir = filepath.Join(x.srv.Dir, filepath.FromSlash(name)+".git")
	// Symbolic links must not lead out of the folder either.
	root, err := filepath.EvalSymlinks(x.srv.Dir)
	if err != nil {
		return "", "", err
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", "", fmt.Errorf("repository %q not found", name)
	}
	if rel, err := filepath.Rel(root, real); err != nil || !filepath.IsLocal(rel) {
		return "", "", fmt.Errorf("repository %q not found", name)
	}
	if fi, err := os.Stat(filepath.Join(real, "HEAD")); err != nil || !fi.Mode().IsRegular() {
		return "", "", fmt.Errorf("repository %q not found", name)
	}
	return service, real, nil
}

// shellUnquote reads one POSIX shell word made of single-quoted parts, backslash escapes and
// plain characters, as go-git and git quote a path (a quote inside is written as
// quote, backslash, quote, quote). Whitespace outside quotes, and any other shell syntax, is
// refused rather than interpreted.
func shellUnquote(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated quote in %q", s)
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '\\':
			if i+1 >= len(s) {
				return "", fmt.Errorf("trailing backslash in %q", s)
			}
			i++
			b.WriteByte(s[i])
		default:
			if strings.IndexByte(" \t\n\"$`;&|<>(){}*?[]~#", c) >= 0 {
				return "", fmt.Errorf("unsupported shell syntax in %q", s)
			}
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "", errors.New("empty repository path")
	}
	return b.String(), nil
}
