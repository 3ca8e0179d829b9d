package branch

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/matryer/is"
)

// file is a file of a base tree made by the git binary: a regular file, an executable or a
// symbolic link (content is then its target).
type file struct {
	content string
	mode    os.FileMode
}

func reg(s string) file { return file{s, 0o644} }
func exe(s string) file { return file{s, 0o755} }
func sym(s string) file { return file{s, os.ModeSymlink} }

// gitIn runs the git binary in dir, away from the user's and the system's configuration.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// writeOver writes name under root the way the writer means it: whatever stands in the way, a
// file where a folder goes or a folder where the file goes, is replaced.
func writeOver(t *testing.T, root, name string, f file) {
	t.Helper()
	segs := strings.Split(name, "/")
	for i := 1; i < len(segs); i++ {
		p := filepath.Join(root, filepath.Join(segs[:i]...))
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.mode == os.ModeSymlink {
		err = os.Symlink(f.content, p)
	} else {
		err = os.WriteFile(p, []byte(f.content), f.mode)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestBuildTreeHashesLikeGit builds trees with buildTree and with the git binary (remove
// workspaces/, write the files, git add -A, git write-tree) from the same base and files: equal
// hashes mean the same entries, modes, nesting and order, byte for byte.
func TestBuildTreeHashesLikeGit(t *testing.T) {
	rendered, err := Render(report(), RelativeLink(DefaultBranch))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		base  map[string]file // committed first; nil for a branch with no history
		files map[string]string
	}{
		{name: "a folder sorts as if its name ended in a slash",
			files: map[string]string{"a-b": "1", "a.b": "2", "a/x": "3", "a0": "4", "a/b/c": "5", "a/b-c": "6", "a/b.c": "7",
				"a/b0": "8", "b": "9", "A": "10", "Z/z": "11", "é.md": "12", "a b": "13", "a_": "14"}},
		{name: "a file sorts before the names it prefixes",
			files: map[string]string{"a": "1", "a-b": "2", "a.b": "3", "a0/x": "4", "ab": "5", "a-b-c/d": "6"}},
		{name: "deep folders",
			files: map[string]string{"x/y/z/w/v.txt": "deep", "x/y.txt": "y", "x/y-z/q": "q", "x/y/a": "a", "x/y/z.txt": "z"}},
		{name: "the report on a new branch", files: toStrings(rendered)},
		{name: "files of others are kept, workspaces/ is the report's",
			base: map[string]file{"NOTES.md": reg("a person's note\n"), "docs/x.md": reg("x\n"), "docs/deep/y.md": reg("y\n"),
				"run.sh": exe("#!/bin/sh\n"), "link": sym("NOTES.md"), "workspaces/old/gone.yaml": reg("gone\n"),
				"workspaces/team-a/phi-3.yaml": reg("stale\n"), ReadmeFile: reg("old\n"), "workspaces.md": reg("w\n"),
				"workspaces-x/keep": reg("k\n")},
			files: toStrings(rendered)},
		{name: "the same files again give the base tree",
			base:  toFiles(rendered),
			files: toStrings(rendered)},
		{name: "a report file replaces a folder, a folder replaces a file",
			base:  map[string]file{StatusFile + "/x": reg("x\n"), "docs": reg("a file\n"), "keep/me": reg("k\n")},
			files: map[string]string{StatusFile: "{}\n", "docs/x.md": "x\n"}},
		{name: "the base had only workspaces",
			base:  map[string]file{"workspaces/a/b.yaml": reg("b\n")},
			files: map[string]string{"workspaces/a/b.yaml": "new\n", "workspaces/a-b/c.yaml": "c\n", "workspaces/a.b/c.yaml": "c\n"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			dir := t.TempDir()
			gitIn(t, dir, "init", "-q")
			var base plumbing.Hash
			if c.base != nil {
				for name, f := range c.base {
					writeOver(t, dir, name, f)
				}
				gitIn(t, dir, "add", "-A")
				gitIn(t, dir, "commit", "-q", "-m", "base")
				base = plumbing.NewHash(gitIn(t, dir, "rev-parse", "HEAD^{tree}"))
			}

			repo, err := git.PlainOpen(dir)
			is.NoErr(err)
			names := make([]string, 0, len(c.files))
			files := map[string][]byte{}
			for name, content := range c.files {
				names = append(names, name)
				files[name] = []byte(content)
			}
			sort.Strings(names)
			got, err := buildTree(repo.Storer, base, WorkspacesDir, names, files)
			is.NoErr(err)

			is.NoErr(os.RemoveAll(filepath.Join(dir, WorkspacesDir)))
			for name, content := range c.files {
				writeOver(t, dir, name, reg(content))
			}
			gitIn(t, dir, "add", "-A")
			want := gitIn(t, dir, "write-tree")
			is.Equal(got.String(), want) // the tree git makes of the same folder
			// Every object buildTree stored is one git reads back as sound.
			gitIn(t, dir, "fsck", "--strict", "--no-dangling")
			gitIn(t, dir, "ls-tree", "-r", got.String())
		})
	}
}

func toStrings(files map[string][]byte) map[string]string {
	out := make(map[string]string, len(files))
	for name, b := range files {
		out[name] = string(b)
	}
	return out
}

func toFiles(files map[string][]byte) map[string]file {
	out := make(map[string]file, len(files))
	for name, b := range files {
		out[name] = reg(string(b))
	}
	return out
}
