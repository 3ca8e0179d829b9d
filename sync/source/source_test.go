package source

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/matryer/is"
)

// repoOnDisk is a non-bare repository in a temp dir that tests commit to and fetch from file://.
type repoOnDisk struct {
	t    *testing.T
	dir  string
	repo *git.Repository
}

func newRepo(t *testing.T) *repoOnDisk {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &repoOnDisk{t: t, dir: dir, repo: repo}
}

// commit writes files (nil content deletes) and commits them, returning the hash.
func (r *repoOnDisk) commit(files map[string]*string, msg string) string {
	r.t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if content == nil {
			if _, err := wt.Remove(name); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(*content), 0o644); err != nil {
			r.t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			r.t.Fatal(err)
		}
	}
	h, err := wt.Commit(msg, &git.CommitOptions{
		Author:            &object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1_700_000_000, 0)},
		AllowEmptyCommits: true,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return h.String()
}

func str(s string) *string { return &s }

func TestTreeFSConformance(t *testing.T) {
	is := is.New(t)
	r := newRepo(t)
	hash := r.commit(map[string]*string{
		"README.md":                      str("# hi\n"),
		"workspaces/a.yaml":              str("a: 1\n"),
		"workspaces/team/b.yml":          str("b: 2\n"),
		"workspaces/team/deeper/c.yaml":  str("c: 3\n"),
		"workspaces/.hidden/ignored.txt": str("x"),
	}, "first")
	c, err := r.repo.CommitObject(plumbing.NewHash(hash))
	is.NoErr(err)
	tree, err := c.Tree()
	is.NoErr(err)
	fsys := NewTreeFS(tree, c.Committer.When)
	// The standard library's own conformance test for fs.FS implementations.
	is.NoErr(fstest.TestFS(fsys, "README.md", "workspaces/a.yaml", "workspaces/team/b.yml", "workspaces/team/deeper/c.yaml"))
	sub, err := fs.Sub(fsys, "workspaces/team")
	is.NoErr(err)
	is.NoErr(fstest.TestFS(sub, "b.yml", "deeper/c.yaml"))
	data, err := fs.ReadFile(sub, "deeper/c.yaml")
	is.NoErr(err)
	is.Equal(string(data), "c: 3\n")
	_, err = fsys.Open("missing.yaml")
	is.True(errors.Is(err, fs.ErrNotExist))
}

func TestGitFetchFollowsTheBranch(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	r := newRepo(t)
	first := r.commit(map[string]*string{"ws/a.yaml": str("one\n"), "other/x.yaml": str("x\n")}, "add a")
	g := NewGit(GitOptions{URL: "file://" + r.dir, Branch: "main", Path: "ws"})

	snap, err := g.Fetch(ctx)
	is.NoErr(err)
	is.Equal(snap.Commit, first)
	is.Equal(snap.Message, "add a")
	data, err := fs.ReadFile(snap.Tree, "a.yaml")
	is.NoErr(err)
	is.Equal(string(data), "one\n")
	_, err = fs.ReadFile(snap.Tree, "x.yaml")
	is.True(errors.Is(err, fs.ErrNotExist)) // only --path is visible

	second := r.commit(map[string]*string{"ws/a.yaml": nil, "ws/b.yaml": str("two\n")}, "replace a by b")
	snap, err = g.Fetch(ctx)
	is.NoErr(err)
	is.Equal(snap.Commit, second)
	_, err = fs.ReadFile(snap.Tree, "a.yaml")
	is.True(errors.Is(err, fs.ErrNotExist))
	data, err = fs.ReadFile(snap.Tree, "b.yaml")
	is.NoErr(err)
	is.Equal(string(data), "two\n")

	snap, err = g.Fetch(ctx) // nothing new
	is.NoErr(err)
	is.Equal(snap.Commit, second)
}

func TestGitFetchErrors(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.commit(map[string]*string{"ws/a.yaml": str("one\n")}, "add a")
	tests := []struct {
		name string
		opts GitOptions
	}{
		{"missing branch", GitOptions{URL: "file://" + r.dir, Branch: "nope"}},
		{"missing path", GitOptions{URL: "file://" + r.dir, Path: "typo"}},
		{"missing repo", GitOptions{URL: "file://" + filepath.Join(r.dir, "nothing-here")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := NewGit(tt.opts).Fetch(ctx)
			is.True(err != nil)
		})
	}
}

func TestLocalReadsUncommittedFiles(t *testing.T) {
	is := is.New(t)
	r := newRepo(t)
	head := r.commit(map[string]*string{"ws/a.yaml": str("one\n")}, "add a")
	is.NoErr(os.WriteFile(filepath.Join(r.dir, "ws", "b.yaml"), []byte("draft\n"), 0o644))
	snap, err := Local{Dir: r.dir, Path: "ws"}.Fetch(context.Background())
	is.NoErr(err)
	is.Equal(snap.Commit, head)
	is.Equal(snap.Branch, "main")
	data, err := fs.ReadFile(snap.Tree, "b.yaml")
	is.NoErr(err)
	is.Equal(string(data), "draft\n")
}

// A --path that is missing or a file is named whole in the error (os.Root's own says "openat .").
func TestLocalNamesAMissingPath(t *testing.T) {
	dir := t.TempDir()
	is.New(t).NoErr(os.WriteFile(filepath.Join(dir, "file.yaml"), nil, 0o644))
	tests := []struct{ path, want string }{
		{"nope", "folder " + filepath.Join(dir, "nope") + " does not exist"},
		{"a/b", "folder " + filepath.Join(dir, "a", "b") + " does not exist"},
		{"file.yaml", filepath.Join(dir, "file.yaml") + " is not a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			is := is.New(t)
			_, err := Local{Dir: dir, Path: tt.path}.Fetch(context.Background())
			is.True(err != nil)
			is.Equal(err.Error(), tt.want)
		})
	}
}

func TestAuthFromFileAndEnv(t *testing.T) {
	is := is.New(t)
	f := filepath.Join(t.TempDir(), "token")
	is.NoErr(os.WriteFile(f, []byte("s3cret\n"), 0o600))
	a, err := AuthOptions{PasswordFile: f}.Auth("https://example.com/r.git")
	is.NoErr(err)
	is.Equal(a.String(), "http-basic-auth - git:*******") // the secret never prints
	t.Setenv("MY_TOKEN", "tok")
	a, err = AuthOptions{Username: "bot", TokenEnv: "MY_TOKEN"}.Auth("https://example.com/r.git")
	is.NoErr(err)
	is.Equal(a.String(), "http-basic-auth - bot:*******")
	a, err = AuthOptions{}.Auth("https://example.com/r.git")
	is.NoErr(err)
	is.Equal(a, nil)
	_, err = AuthOptions{SSHKeyFile: "/does/not/exist"}.Auth("git@github.com:org/r.git")
	is.True(err != nil)
}

func TestFetchErrorsNeverCarryCredentials(t *testing.T) {
	is := is.New(t)
	// Port 1 on loopback refuses at once; the error must still not show the token.
	for _, u := range []string{
		"http://bot:s3cr3t-token@127.0.0.1:1/org/repo.git",
		"https://bot:s3cr3t-token@127.0.0.1:1/org/repo.git",
	} {
		_, err := NewGit(GitOptions{URL: u}).Fetch(context.Background())
		is.True(err != nil)
		is.True(!strings.Contains(err.Error(), "s3cr3t-token")) // redacted
	}
}

func TestSSHAuthOptionsErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts AuthOptions
		want string
	}{
		{"known_hosts without a key", AuthOptions{KnownHostsFile: filepath.Join(dir, "kh")}, "needs --ssh-key-file"},
		{"key without known_hosts", AuthOptions{SSHKeyFile: filepath.Join(dir, "missing-key")}, "needs --ssh-known-hosts"},
		{"known_hosts file missing", AuthOptions{SSHKeyFile: filepath.Join(dir, "k"), KnownHostsFile: filepath.Join(dir, "nope")}, "--ssh-known-hosts: stat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := tt.opts.Auth("git@github.com:org/repo.git")
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want))
		})
	}
}
