package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Local reads workspaces from a folder on disk, as they are, uncommitted edits included: the
// source for editing workspaces locally with a watch.
type Local struct {
	Dir  string
	Path string
}

func (l Local) Fetch(context.Context) (Snapshot, error) {
	sub := strings.Trim(path.Clean("/"+filepath.ToSlash(l.Path)), "/")
	fsys := inRoot{dir: l.Dir, sub: sub}
	info, err := fs.Stat(fsys, ".")
	full := filepath.Join(l.Dir, filepath.FromSlash(sub))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The error of os.Root names only "." (the folder it was asked for, relative to itself).
		return Snapshot{}, fmt.Errorf("folder %s does not exist", full)
	case err != nil:
		return Snapshot{}, fmt.Errorf("folder %s: %w", full, err)
	case !info.IsDir():
		return Snapshot{}, fmt.Errorf("%s is not a folder", full)
	}
	snap := Snapshot{Tree: fsys, Path: sub}
	// Name the commit the edits sit on, when the folder is a Git checkout.
	if repo, err := git.PlainOpenWithOptions(l.Dir, &git.PlainOpenOptions{DetectDotGit: true}); err == nil {
		if head, err := repo.Head(); err == nil {
			snap.Commit = head.Hash().String()
			if head.Name().IsBranch() {
				snap.Branch = head.Name().Short()
			}
			snap.Dirty = uncommitted(repo, head.Hash(), l.Dir, sub, fsys)
		}
	}
	return snap, nil
}

// uncommitted reports whether the files under sub of dir (a folder of repo's work tree) differ
// from commit's: an edit, a new file or a deleted one that .gitignore does not exclude. Only the
// folder synced is compared, by blob hash, as git status would. Anything it cannot read counts as
// a difference: the sync must not claim a commit it may not have synced.
func uncommitted(repo *git.Repository, commit plumbing.Hash, dir, sub string, fsys inRoot) bool {
	wt, err := repo.Worktree()
	if err != nil {
		return true
	}
	rel, err := within(wt.Filesystem.Root(), dir)
	if err != nil {
		return true
	}
	at := strings.Trim(path.Join(rel, sub), "/")
	c, err := repo.CommitObject(commit)
	if err != nil {
		return true
	}
	tree, err := c.Tree()
	if err != nil {
		return true
	}
	want := map[string]plumbing.Hash{}
	if at != "" {
		if tree, err = tree.Tree(at); err != nil {
			tree = nil // not in the commit: every file is new
		}
	}
	if tree != nil {
		_ = tree.Files().ForEach(func(f *object.File) error {
			want[f.Name] = f.Hash
			return nil
		})
	}
	patterns, _ := gitignore.ReadPatterns(wt.Filesystem, nil)
	ignored := gitignore.NewMatcher(patterns)
	dirty := false
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		parts := strings.Split(path.Join(at, name), "/")
		if d.Name() == ".git" || ignored.Match(parts, d.IsDir()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		var data []byte
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := fsys.ReadLink(name)
			if err != nil {
				return err
			}
			data = []byte(target)
		} else if data, err = fs.ReadFile(fsys, name); err != nil {
			return err
		}
		h, ok := want[name]
		delete(want, name)
		if !ok || h != plumbing.ComputeHash(plumbing.BlobObject, data) {
			dirty = true
			return fs.SkipAll
		}
		return nil
	})
	return err != nil || dirty || len(want) > 0
}

// inRoot is the folder sub of dir as an fs.FS that never leaves dir: every call goes through an
// os.Root, which refuses a path that escapes dir by "..", an absolute symlink or a symlink
// climbing out (os.DirFS follows them all: a workspace folder with a link to /etc or ~/.kube
// would be read). The walk reports links without following them; this stops the rest, including
// a file swapped for a link between the walk and the read. Each open opens and closes the root,
// so a snapshot holds no descriptor.
type inRoot struct {
	dir, sub string
}

func (r inRoot) Open(name string) (fs.File, error) {
	root, p, err := r.open("open", name)
	if err != nil {
		return nil, err
	}
	defer root.Close() // an open file outlives its root
	f, err := root.Open(p)
	return f, r.rename(err, name)
}

// Lstat and ReadLink let the loader see a link as a link, and name where it points, without
// following it.
func (r inRoot) Lstat(name string) (fs.FileInfo, error) {
	root, p, err := r.open("lstat", name)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	info, err := root.Lstat(p)
	return info, r.rename(err, name)
}

func (r inRoot) ReadLink(name string) (string, error) {
	root, p, err := r.open("readlink", name)
	if err != nil {
		return "", err
	}
	defer root.Close()
	target, err := root.Readlink(p)
	return target, r.rename(err, name)
}

// open opens the root and returns the OS path of name inside it.
func (r inRoot) open(op, name string) (*os.Root, string, error) {
	if !fs.ValidPath(name) {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return nil, "", err
	}
	return root, filepath.FromSlash(path.Join(r.sub, name)), nil
}

// rename names the file in an error as the caller did, not by its place on this machine.
func (r inRoot) rename(err error, name string) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return &fs.PathError{Op: pe.Op, Path: name, Err: pe.Err}
	}
	return err
}
