package gitbranch

import (
	"os"
	"os/exec"
	"path/filepath"
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

// TestBuildTreeHashesLikeGit builds trees with BuildTree and with the git binary (remove the
// edit's paths, write its files, git add -A, git write-tree) from the same base: equal hashes mean
// the same entries, modes, nesting and order, byte for byte.
func TestBuildTreeHashesLikeGit(t *testing.T) {
	cases := []struct {
		name   string
		base   map[string]file // committed first; nil for a branch with no history
		files  map[string]string
		remove []string
	}{
		{name: "a folder sorts as if its name ended in a slash",
			files: map[string]string{"a-b": "1", "a.b": "2", "a/x": "3", "a0": "4", "a/b/c": "5", "a/b-c": "6", "a/b.c": "7",
				"a/b0": "8", "b": "9", "A": "10", "Z/z": "11", "é.md": "12", "a b": "13", "a_": "14"}},
		{name: "a file sorts before the names it prefixes",
			files: map[string]string{"a": "1", "a-b": "2", "a.b": "3", "a0/x": "4", "ab": "5", "a-b-c/d": "6"}},
		{name: "deep folders",
			files: map[string]string{"x/y/z/w/v.txt": "deep", "x/y.txt": "y", "x/y-z/q": "q", "x/y/a": "a", "x/y/z.txt": "z"}},
		{name: "files of others are kept, an owned folder is replaced",
			base: map[string]file{"NOTES.md": reg("a person's note\n"), "docs/x.md": reg("x\n"), "docs/deep/y.md": reg("y\n"),
				"run.sh": exe("#!/bin/sh\n"), "link": sym("NOTES.md"), "owned/old/gone.yaml": reg("gone\n"),
				"owned/team-a/phi-3.yaml": reg("stale\n"), "README.md": reg("old\n"), "owned.md": reg("w\n"),
				"owned-x/keep": reg("k\n")},
			files:  map[string]string{"owned/team-a/phi-3.yaml": "new\n", "README.md": "new\n"},
			remove: []string{"owned"}},
		{name: "the same files again give the base tree",
			base:  map[string]file{"a/b.yaml": reg("b\n"), "c": reg("c\n")},
			files: map[string]string{"a/b.yaml": "b\n", "c": "c\n"}},
		{name: "a file replaces a folder, a folder replaces a file",
			base:  map[string]file{"status.json/x": reg("x\n"), "docs": reg("a file\n"), "keep/me": reg("k\n")},
			files: map[string]string{"status.json": "{}\n", "docs/x.md": "x\n"}},
		{name: "nested files and folders removed, missing paths ignored, emptied folders gone",
			base: map[string]file{"rendered/ns/a/StatefulSet.a.yaml": reg("a\n"), "rendered/ns/a/Service.a.yaml": reg("s\n"),
				"rendered/ns/b/Service.b.yaml": reg("b\n"), "rendered/ns/namespace.yaml": reg("n\n"), "README.md": reg("r\n")},
			remove: []string{"rendered/ns/a/StatefulSet.a.yaml", "rendered/ns/a/Service.a.yaml", "rendered/ns/b", "rendered/none/x.yaml", "README.md/x"},
			files:  map[string]string{"rendered/ns/c/Service.c.yaml": "c\n"}},
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
			files := map[string][]byte{}
			for name, content := range c.files {
				files[name] = []byte(content)
			}
			got, err := BuildTree(repo.Storer, base, Edit{Files: files, Remove: c.remove})
			is.NoErr(err)

			for _, name := range c.remove {
				if fi, err := os.Lstat(filepath.Join(dir, filepath.Dir(filepath.FromSlash(name)))); err == nil && !fi.IsDir() {
					continue // a path through a file names nothing
				}
				is.NoErr(os.RemoveAll(filepath.Join(dir, filepath.FromSlash(name))))
			}
			for name, content := range c.files {
				writeOver(t, dir, name, reg(content))
			}
			gitIn(t, dir, "add", "-A")
			want := gitIn(t, dir, "write-tree")
			is.Equal(got.String(), want) // the tree git makes of the same folder
			// Every object BuildTree stored is one git reads back as sound.
			gitIn(t, dir, "fsck", "--strict", "--no-dangling")
			gitIn(t, dir, "ls-tree", "-r", got.String())
		})
	}
}
