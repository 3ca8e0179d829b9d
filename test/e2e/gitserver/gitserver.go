// Package gitserver runs a Git server on loopback for tests: smart HTTP with basic auth, served by
// `git http-backend` (the real Git, so clients meet real protocol behaviour) behind net/http/cgi.
// Helpers create bare repositories, push commits built in memory with go-git, and read a branch
// back. It needs the git binary on PATH.
package gitserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/util"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Options configure Start. The zero value is ready to use.
type Options struct {
	User     string // basic-auth user; default "kaito"
	Password string // basic-auth password; default random
	// Token, when set, is also let in as the basic-auth user name with no password: how GitHub
	// and GitLab accept a token written into a URL (https://TOKEN@host/org/repo.git).
	Token string
	Dir   string // folder of the bare repositories; default a temporary folder removed by Close
	Git   string // git binary; default "git" from PATH
}

// Server is a running loopback Git server.
type Server struct {
	URL      string // base URL, http://127.0.0.1:<port>; a repo is URL + "/" + name + ".git"
	Dir      string // folder holding the bare repositories (<name>.git)
	User     string
	Password string

	git     string
	ownDir  bool
	addr    string       // host:port, kept across Stop and Restart
	handler http.Handler // authentication, injected faults, then git http-backend
	userSum [32]byte
	passSum [32]byte
	// tokenSum is the digest of Options.Token; hasToken says whether there is one.
	tokenSum [32]byte
	hasToken bool

	mu     sync.Mutex
	srv    *http.Server // nil while stopped
	fault  Fault
	wake   chan struct{} // closed when the fault changes, so delayed requests look again
	served int

	closeOnce  sync.Once
	backendLog *os.File
	closeErr   error
}

// Start serves repositories on a free loopback port until Close.
func Start(opts Options) (*Server, error) {
	gitBin := opts.Git
	if gitBin == "" {
		gitBin = "git"
	}
	gitPath, err := exec.LookPath(gitBin)
	if err != nil {
		return nil, fmt.Errorf("gitserver needs the git binary (for git http-backend): %w", err)
	}
	s := &Server{User: opts.User, Password: opts.Password, Dir: opts.Dir, git: gitPath}
	if s.User == "" {
		s.User = "kaito"
	}
	if s.Password == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		s.Password = hex.EncodeToString(b)
	}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "kaito-sync-gitserver-"); err != nil {
			return nil, err
		}
		s.ownDir = true
	}
	if s.Dir, err = filepath.Abs(s.Dir); err != nil {
		return nil, err
	}
	s.userSum, s.passSum = sha256.Sum256([]byte(s.User)), sha256.Sum256([]byte(s.Password))
	s.tokenSum, s.hasToken = sha256.Sum256([]byte(opts.Token)), opts.Token != ""

	backendLog, err := os.Create(filepath.Join(s.Dir, "http-backend.log"))
	if err != nil {
		return nil, err
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Dir:  s.Dir,
		Env: append(gitEnv(s.Dir),
			"GIT_PROJECT_ROOT="+s.Dir,
			"GIT_HTTP_EXPORT_ALL=1",
			// Pushes are allowed for every authenticated user, whatever the repo's config says.
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
		),
		InheritEnv: []string{"PATH"},
		Stderr:     backendLog,
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		backendLog.Close()
		return nil, err
	}
	s.addr = l.Addr().String()
	s.URL = "http://" + s.addr
	s.handler = s.faulty(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := s.authorized(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="kaito-sync test git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h := *backend
		h.Env = append(slices.Clone(backend.Env), "REMOTE_USER="+user)
		h.ServeHTTP(w, r)
	}))
	s.backendLog = backendLog
	s.serve(l)
	return s, nil
}

// serve starts an HTTP server on l; callers hold s.mu or own s exclusively.
func (s *Server) serve(l net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.srv = srv
	go func() { _ = srv.Serve(l) }()
}

// New starts a server for one test and closes it when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("gitserver: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Logf("gitserver close: %v", err)
		}
	})
	return s
}

// authorized checks basic auth in constant time (over fixed-length digests, so neither the
// content nor the length of the credentials leaks through timing).
func (s *Server) authorized(r *http.Request) (string, bool) {
	u, p, ok := r.BasicAuth()
	if !ok {
		return "", false
	}
	us, ps := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
	okU := subtle.ConstantTimeCompare(us[:], s.userSum[:])
	okP := subtle.ConstantTimeCompare(ps[:], s.passSum[:])
	if s.hasToken && p == "" && subtle.ConstantTimeCompare(us[:], s.tokenSum[:]) == 1 {
		return "token", true
	}
	return u, okU&okP == 1
}

// Close stops serving and removes the repositories if Start created their folder.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.mu.Lock()
		srv := s.srv
		s.srv = nil
		s.setFaultLocked(Fault{}) // delayed requests end now rather than hold Shutdown up
		s.mu.Unlock()
		if srv != nil {
			if err := srv.Shutdown(ctx); err != nil {
				s.closeErr = errors.Join(err, srv.Close())
			}
		}
		// Only now: Serve returns as soon as Shutdown starts, while CGI requests may still write.
		s.backendLog.Close()
		if s.ownDir {
			s.closeErr = errors.Join(s.closeErr, os.RemoveAll(s.Dir))
		}
	})
	return s.closeErr
}

// Auth returns the server's credentials for go-git.
func (s *Server) Auth() *githttp.BasicAuth {
	return &githttp.BasicAuth{Username: s.User, Password: s.Password}
}

// RepoURL is the clone URL of a repository (without credentials).
func (s *Server) RepoURL(name string) string {
	return s.URL + "/" + name + ".git"
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`)

// CreateRepo creates an empty bare repository whose HEAD is main and returns its clone URL.
// A name may contain slashes (org/repo).
func (s *Server) CreateRepo(name string) (string, error) {
	if !repoName.MatchString(name) { // every segment starts with a letter or digit: no ".."
		return "", fmt.Errorf("bad repository name %q", name)
	}
	dir := filepath.Join(s.Dir, filepath.FromSlash(name)+".git")
	if _, err := os.Stat(dir); err == nil {
		return "", fmt.Errorf("repository %q exists", name)
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--bare", dir},
		{"--git-dir", dir, "symbolic-ref", "HEAD", "refs/heads/main"},
	} {
		cmd := exec.Command(s.git, args...)
		cmd.Env = gitEnv(s.Dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("git %v: %v: %s", args, err, out)
		}
	}
	return s.RepoURL(name), nil
}

// gitEnv isolates server-side git from the user's and the system's configuration.
func gitEnv(home string) []string {
	return []string{"HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0"}
}

// Change is one commit: files to write (created or replaced) and paths to delete (a folder
// deletes everything beneath it).
type Change struct {
	Files   map[string]string
	Delete  []string
	Message string // default "test commit"
	// From names the branch a new branch starts from; empty starts it as a root commit. Ignored
	// when the branch exists.
	From string
	// Orphan makes the commit a new root holding exactly Files, force-pushed over the branch:
	// history rewritten, as by a `git push --force` of unrelated work.
	Orphan bool
	// SignKey, when set, signs the commit with this OpenPGP key (as `git commit -S`).
	SignKey *openpgp.Entity
}

// Commit pushes one commit writing files to branch (created if missing) and returns its hash.
func (s *Server) Commit(repo, branch string, files map[string]string, message string) (string, error) {
	return s.Push(repo, branch, Change{Files: files, Message: message})
}

// DeleteFiles pushes one commit removing paths from branch and returns its hash.
func (s *Server) DeleteFiles(repo, branch, message string, paths ...string) (string, error) {
	return s.Push(repo, branch, Change{Delete: paths, Message: message})
}

// Push builds the change on top of branch in an in-memory clone made with go-git, commits it
// (even when it changes nothing) and pushes it over HTTP. It returns the new commit's hash.
func (s *Server) Push(repo, branch string, c Change) (string, error) {
	url, ref := s.RepoURL(repo), plumbing.NewBranchReferenceName(branch)
	refs, err := s.listRefs(url)
	if err != nil {
		return "", err
	}
	if c.Orphan { // a new root: nothing of the branch, nor of another, is kept
		delete(refs, ref)
		c.From = ""
	}
	fs := memfs.New()
	var r *git.Repository
	switch {
	case refs[ref] != plumbing.ZeroHash:
		r, err = git.Clone(memory.NewStorage(), fs, &git.CloneOptions{URL: url, Auth: s.Auth(), ReferenceName: ref, SingleBranch: true})
	case c.From != "" && refs[plumbing.NewBranchReferenceName(c.From)] != plumbing.ZeroHash:
		from := plumbing.NewBranchReferenceName(c.From)
		r, err = git.Clone(memory.NewStorage(), fs, &git.CloneOptions{URL: url, Auth: s.Auth(), ReferenceName: from, SingleBranch: true})
		if err == nil {
			err = r.Storer.SetReference(plumbing.NewHashReference(ref, refs[from]))
		}
		if err == nil {
			err = r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref))
		}
	case c.From != "":
		return "", fmt.Errorf("%s: branch %q to start %q from does not exist", url, c.From, branch)
	default: // new root commit
		r, err = git.Init(memory.NewStorage(), fs)
		if err == nil {
			_, err = r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}})
		}
		if err == nil {
			err = r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref))
		}
	}
	if err != nil {
		return "", fmt.Errorf("%s: prepare %s: %w", url, branch, err)
	}

	wt, err := r.Worktree()
	if err != nil {
		return "", err
	}
	for _, p := range c.Delete {
		if err := util.RemoveAll(fs, p); err != nil {
			return "", fmt.Errorf("delete %s: %w", p, err)
		}
	}
	for p, content := range c.Files {
		if err := util.WriteFile(fs, p, []byte(content), 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", p, err)
		}
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("stage: %w", err)
	}
	msg := c.Message
	if msg == "" {
		msg = "test commit"
	}
	sig := &object.Signature{Name: "kaito-sync test", Email: "test@kaito-sync.invalid", When: time.Now()}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true, SignKey: c.SignKey})
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	spec := config.RefSpec(ref.String() + ":" + ref.String())
	if c.Orphan { // forced: the branch's history is replaced
		spec = "+" + spec
	}
	if err := r.Push(&git.PushOptions{RemoteName: "origin", Auth: s.Auth(), RefSpecs: []config.RefSpec{spec}}); err != nil {
		return "", fmt.Errorf("push %s to %s: %w", branch, url, err)
	}
	return h.String(), nil
}

// listRefs returns the remote's references; an empty repository has none.
func (s *Server) listRefs(url string) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	list, err := rem.List(&git.ListOptions{Auth: s.Auth()})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return map[plumbing.ReferenceName]plumbing.Hash{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", url, err)
	}
	refs := map[plumbing.ReferenceName]plumbing.Hash{}
	for _, r := range list {
		if r.Type() == plumbing.HashReference {
			refs[r.Name()] = r.Hash()
		}
	}
	return refs, nil
}

// ReadBranch clones branch with go-git and returns every file of its tip (path -> content) and
// the tip's commit hash.
func (s *Server) ReadBranch(repo, branch string) (map[string]string, string, error) {
	url := s.RepoURL(repo)
	r, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{
		URL: url, Auth: s.Auth(), ReferenceName: plumbing.NewBranchReferenceName(branch), SingleBranch: true, Depth: 1,
	})
	if err != nil {
		return nil, "", fmt.Errorf("clone %s %s: %w", url, branch, err)
	}
	head, err := r.Head()
	if err != nil {
		return nil, "", err
	}
	commit, err := r.CommitObject(head.Hash())
	if err != nil {
		return nil, "", err
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, "", err
	}
	files := map[string]string{}
	err = tree.Files().ForEach(func(f *object.File) error {
		content, err := f.Contents()
		files[f.Name] = content
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return files, head.Hash().String(), nil
}
