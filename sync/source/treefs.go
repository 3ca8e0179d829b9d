package source

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TreeFS exposes a Git tree as an fs.FS, so workspaces load straight from Git objects with no
// checkout on disk. Files are read lazily from the object store; symlinks and submodules are
// not followed (a workspace folder has no business pointing outside itself).
type TreeFS struct {
	root  *object.Tree
	mtime time.Time
}

// NewTreeFS wraps a tree; mtime is reported for every entry (the commit time).
func NewTreeFS(root *object.Tree, mtime time.Time) *TreeFS {
	return &TreeFS{root: root, mtime: mtime}
}

var (
	_ fs.FS        = (*TreeFS)(nil)
	_ fs.ReadDirFS = (*TreeFS)(nil)
	_ fs.SubFS     = (*TreeFS)(nil)
)

func (t *TreeFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &treeDir{fsys: t, tree: t.root, name: "."}, nil
	}
	e, err := t.root.FindEntry(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	switch e.Mode {
	case filemode.Dir:
		sub, err := t.root.Tree(name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &treeDir{fsys: t, tree: sub, name: name}, nil
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
		f, err := t.root.TreeEntryFile(e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		r, err := f.Reader()
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &treeFile{ReadCloser: r, info: t.info(path.Base(name), e.Mode, f.Size)}, nil
	default:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("symlinks and submodules are not followed")}
	}
}

// ReadDir lists a directory without opening it, which keeps fs.WalkDir cheap on big trees.
func (t *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	tree := t.root
	if name != "." {
		if !fs.ValidPath(name) {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
		}
		sub, err := t.root.Tree(name)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
		}
		tree = sub
	}
	return t.entries(tree), nil
}

// Sub returns the tree of a sub-folder, for --path.
func (t *TreeFS) Sub(dir string) (fs.FS, error) {
	if dir == "." {
		return t, nil
	}
	if !fs.ValidPath(dir) {
		return nil, &fs.PathError{Op: "sub", Path: dir, Err: fs.ErrInvalid}
	}
	sub, err := t.root.Tree(dir)
	if err != nil {
		return nil, &fs.PathError{Op: "sub", Path: dir, Err: fs.ErrNotExist}
	}
	return &TreeFS{root: sub, mtime: t.mtime}, nil
}

func (t *TreeFS) entries(tree *object.Tree) []fs.DirEntry {
	out := make([]fs.DirEntry, 0, len(tree.Entries))
	for _, e := range tree.Entries {
		size := int64(0)
		if e.Mode != filemode.Dir {
			if s, err := tree.Size(e.Name); err == nil {
				size = s
			}
		}
		out = append(out, fs.FileInfoToDirEntry(t.info(e.Name, e.Mode, size)))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

func (t *TreeFS) info(name string, mode filemode.FileMode, size int64) fileInfo {
	m, err := mode.ToOSFileMode()
	switch {
	case mode == filemode.Dir:
		m = dirMode
	case err != nil:
		m = fs.ModeIrregular
	}
	return fileInfo{name: name, mode: m, size: size, mtime: t.mtime}
}

// dirMode is what Git cannot say about folders; one value keeps Stat and ReadDir in agreement.
const dirMode = fs.ModeDir | 0o755

type fileInfo struct {
	name  string
	mode  fs.FileMode
	size  int64
	mtime time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return i.mtime }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }

type treeFile struct {
	io.ReadCloser
	info fileInfo
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }

type treeDir struct {
	fsys    *TreeFS
	tree    *object.Tree
	name    string
	entries []fs.DirEntry
	offset  int
}

func (d *treeDir) Stat() (fs.FileInfo, error) {
	return fileInfo{name: path.Base(d.name), mode: dirMode, mtime: d.fsys.mtime}, nil
}
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}
func (d *treeDir) Close() error { return nil }

func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.entries == nil {
		d.entries = d.fsys.entries(d.tree)
	}
	rest := d.entries[d.offset:]
	if n <= 0 {
		d.offset = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.offset += n
	return rest[:n], nil
}
