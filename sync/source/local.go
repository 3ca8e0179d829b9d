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
	if err != nil {
		return Snapshot{}, err
	}
	if !info.IsDir() {
		return Snapshot{}, fmt.Errorf("%s is not a folder", filepath.Join(l.Dir, filepath.FromSlash(sub)))
	}
	snap := Snapshot{Tree: fsys, Path: sub}
	// Name the commit the edits sit on, when the folder is a Git checkout.
	if repo, err := git.PlainOpenWithOptions(l.Dir, &git.PlainOpenOptions{DetectDotGit: true}); err == nil {
		if head, err := repo.Head(); err == nil {
			snap.Commit = head.Hash().String()
			if head.Name().IsBranch() {
				snap.Branch = head.Name().Short()
			}
		}
	}
	return snap, nil
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
