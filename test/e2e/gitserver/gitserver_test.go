package gitserver_test

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

func TestCommitReadDelete(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{User: "alice", Password: "s3cret"})
	_, err := s.CreateRepo("team/workspaces")
	is.NoErr(err)

	h1, err := s.Commit("team/workspaces", "main", map[string]string{
		"a.yaml":         "a: 1\n",
		"dir/b.yaml":     "b: 2\n",
		"dir/sub/c.yaml": "c: 3\n",
	}, "first")
	is.NoErr(err)
	files, head, err := s.ReadBranch("team/workspaces", "main")
	is.NoErr(err)
	is.Equal(head, h1)
	is.Equal(files, map[string]string{"a.yaml": "a: 1\n", "dir/b.yaml": "b: 2\n", "dir/sub/c.yaml": "c: 3\n"})

	h2, err := s.Push("team/workspaces", "main", gitserver.Change{
		Files:   map[string]string{"a.yaml": "a: changed\n"},
		Delete:  []string{"dir/sub"},
		Message: "second",
	})
	is.NoErr(err)
	is.True(h2 != h1)
	files, head, err = s.ReadBranch("team/workspaces", "main")
	is.NoErr(err)
	is.Equal(head, h2)
	is.Equal(files, map[string]string{"a.yaml": "a: changed\n", "dir/b.yaml": "b: 2\n"})

	h3, err := s.DeleteFiles("team/workspaces", "main", "third", "dir/b.yaml")
	is.NoErr(err)
	files, head, err = s.ReadBranch("team/workspaces", "main")
	is.NoErr(err)
	is.Equal(head, h3)
	is.Equal(files, map[string]string{"a.yaml": "a: changed\n"})

	// The history is linear: h3 -> h2 -> h1.
	r, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{URL: s.RepoURL("team/workspaces"), Auth: s.Auth()})
	is.NoErr(err)
	c3, err := r.CommitObject(plumbing.NewHash(h3))
	is.NoErr(err)
	is.Equal(c3.ParentHashes, []plumbing.Hash{plumbing.NewHash(h2)})
	c2, err := r.CommitObject(plumbing.NewHash(h2))
	is.NoErr(err)
	is.Equal(c2.ParentHashes, []plumbing.Hash{plumbing.NewHash(h1)})
	is.Equal(c2.Message, "second")
}

func TestBranches(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{})
	_, err := s.CreateRepo("r")
	is.NoErr(err)
	main, err := s.Commit("r", "main", map[string]string{"w.yaml": "x"}, "main")
	is.NoErr(err)

	// From: the new branch starts at main.
	feat, err := s.Push("r", "feature", gitserver.Change{Files: map[string]string{"f.yaml": "f"}, From: "main"})
	is.NoErr(err)
	files, _, err := s.ReadBranch("r", "feature")
	is.NoErr(err)
	is.Equal(files, map[string]string{"w.yaml": "x", "f.yaml": "f"})

	// No From: a root commit with only its own files (like a status branch).
	_, err = s.Commit("r", "status", map[string]string{"status.md": "ok"}, "status")
	is.NoErr(err)
	files, _, err = s.ReadBranch("r", "status")
	is.NoErr(err)
	is.Equal(files, map[string]string{"status.md": "ok"})

	// main is untouched.
	_, head, err := s.ReadBranch("r", "main")
	is.NoErr(err)
	is.Equal(head, main)
	is.True(feat != main)

	_, err = s.Push("r", "x", gitserver.Change{From: "nope"})
	is.True(err != nil)
	_, _, err = s.ReadBranch("r", "nope")
	is.True(err != nil)
	_, err = s.CreateRepo("r")
	is.True(err != nil) // exists
	_, err = s.CreateRepo("../escape")
	is.True(err != nil)
}

func TestAuth(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{User: "bob", Password: "right"})
	_, err := s.CreateRepo("r")
	is.NoErr(err)
	_, err = s.Commit("r", "main", map[string]string{"a": "1"}, "a")
	is.NoErr(err)

	for _, auth := range []*githttp.BasicAuth{
		{Username: "bob", Password: "wrong"},
		{Username: "eve", Password: "right"},
		nil,
	} {
		opts := &git.CloneOptions{URL: s.RepoURL("r")}
		if auth != nil {
			opts.Auth = auth
		}
		_, err := git.Clone(memory.NewStorage(), nil, opts)
		is.True(errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)) // bad credentials refused
	}

	resp, err := http.Get(s.RepoURL("r") + "/info/refs?service=git-upload-pack")
	is.NoErr(err)
	resp.Body.Close()
	is.Equal(resp.StatusCode, http.StatusUnauthorized)
	is.True(strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic "))
}

// The git command line client works against the server too (push and clone).
func TestGitCLI(t *testing.T) {
	is := is.New(t)
	s := gitserver.New(t, gitserver.Options{User: "carol", Password: "pw"})
	_, err := s.CreateRepo("cli")
	is.NoErr(err)
	_, err = s.Commit("cli", "main", map[string]string{"from-go-git.txt": "hello\n"}, "go-git")
	is.NoErr(err)

	withCreds := strings.Replace(s.RepoURL("cli"), "http://", "http://carol:pw@", 1)
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("clone", "--quiet", withCreds, "w")
	dir = filepath.Join(dir, "w")
	b, err := os.ReadFile(filepath.Join(dir, "from-go-git.txt"))
	is.NoErr(err)
	is.Equal(string(b), "hello\n")

	is.NoErr(os.WriteFile(filepath.Join(dir, "from-cli.txt"), []byte("hi\n"), 0o644))
	git("add", "-A")
	git("commit", "--quiet", "-m", "cli")
	git("push", "--quiet", "origin", "main")
	want := git("rev-parse", "HEAD")

	files, head, err := s.ReadBranch("cli", "main")
	is.NoErr(err)
	is.Equal(head, want)
	is.Equal(files, map[string]string{"from-go-git.txt": "hello\n", "from-cli.txt": "hi\n"})
}
