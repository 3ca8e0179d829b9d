package source

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TreeFS exposes a Git tree as an fs.FS, so workspaces load straight from Git objects with no
// checkout on disk. Files are read lazily from the object store; symlinks and submodules are
// not followed (a workspace folder has no business pointing outside itself). Each folder's tree is
// decoded once and kept: go-git decodes a folder again for every path looked up in it, which makes
// reading the files of one folder quadratic (ten thousand files: about a minute).
type TreeFS struct {
	root  *object.Tree
	mtime time.Time

	mu    sync.Mutex              // guards trees, and the lookup maps go-git builds inside them
	trees map[string]*object.Tree // folder path → its tree
}

// NewTreeFS wraps a tree; mtime is reported for every entry (the commit time).
func NewTreeFS(root *object.Tree, mtime time.Time) *TreeFS {
	return &TreeFS{root: root, mtime: mtime, trees: map[string]*object.Tree{".": root}}
}

var (
	_ fs.FS         = (*TreeFS)(nil)
	_ fs.ReadDirFS  = (*TreeFS)(nil)
	_ fs.SubFS      = (*TreeFS)(nil)
	_ fs.ReadLinkFS = (*TreeFS)(nil)
)

// tree returns the tree of folder dir (a valid path), decoding each folder on the way once.
// Callers hold t.mu.
func (t *TreeFS) tree(dir string) (*object.Tree, error) {
	if tr, ok := t.trees[dir]; ok {
		return tr, nil
	}
	parent, err := t.tree(path.Dir(dir))
	if err != nil {
		return nil, err
	}
	// One segment: go-git looks it up in parent's own map, no walk.
	tr, err := parent.Tree(path.Base(dir))
	if err != nil {
		return nil, fs.ErrNotExist
	}
	t.trees[dir] = tr
	return tr, nil
}

// entry finds name (a valid path other than ".") and the tree holding it.
func (t *TreeFS) entry(op, name string) (*object.TreeEntry, *object.Tree, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	parent, err := t.tree(path.Dir(name))
	if err != nil {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	e, err := parent.FindEntry(path.Base(name))
	if err != nil {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return e, parent, nil
}

// folder returns the tree of folder name.
func (t *TreeFS) folder(op, name string) (*object.Tree, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, err := t.tree(name)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return tr, nil
}

func (t *TreeFS) Open(name string) (fs.File, error) {
	if name == "." {
		return &treeDir{fsys: t, tree: t.root, name: "."}, nil
	}
	e, parent, err := t.entry("open", name)
	if err != nil {
		return nil, err
	}
	switch e.Mode {
	case filemode.Dir:
		sub, err := t.folder("open", name)
		if err != nil {
			return nil, err
		}
		return &treeDir{fsys: t, tree: sub, name: name}, nil
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
		f, err := parent.TreeEntryFile(e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		// A reader streams a large object from its pack; nothing is read before the caller
		// has seen the size (Stat) and chosen to read.
		r, err := f.Reader()
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &treeFile{ReadCloser: r, info: t.info(path.Base(name), e.Mode, f.Size)}, nil
	default:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("symlinks and submodules are not followed")}
	}
}

// Lstat describes name without following it: a symlink reads as one.
func (t *TreeFS) Lstat(name string) (fs.FileInfo, error) {
	if name == "." {
		return fileInfo{name: ".", mode: dirMode, mtime: t.mtime}, nil
	}
	e, parent, err := t.entry("lstat", name)
	if err != nil {
		return nil, err
	}
	return t.entryInfo(parent, e)
}

// maxLink bounds what ReadLink reads: a link blob holds a path, never more than PATH_MAX.
const maxLink = 4096

// ReadLink returns where a symlink points (the content of its blob), so errors can say it.
func (t *TreeFS) ReadLink(name string) (string, error) {
	e, parent, err := t.entry("readlink", name)
	if err != nil {
		return "", err
	}
	if e.Mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	f, err := parent.TreeEntryFile(e)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	r, err := f.Reader()
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxLink))
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(b), nil
}

// ReadDir lists a directory without opening it, which keeps fs.WalkDir cheap on big trees.
func (t *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	tr, err := t.folder("readdir", name)
	if err != nil {
		return nil, err
	}
	return t.entries(tr), nil
}

// Sub returns the tree of a sub-folder, for --path.
func (t *TreeFS) Sub(dir string) (fs.FS, error) {
	tr, err := t.folder("sub", dir)
	if err != nil {
		return nil, err
	}
	if dir == "." {
		return t, nil
	}
	return NewTreeFS(tr, t.mtime), nil
}

// entries lists a folder. Sizes are looked up only when asked (Info): a walk needs names and
// types, and a size costs an object lookup per file.
func (t *TreeFS) entries(tree *object.Tree) []fs.DirEntry {
	out := make([]fs.DirEntry, 0, len(tree.Entries))
	for i := range tree.Entries {
		out = append(out, dirEntry{fsys: t, tree: tree, e: &tree.Entries[i]})
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

func (t *TreeFS) entryInfo(tree *object.Tree, e *object.TreeEntry) (fs.FileInfo, error) {
	size := int64(0)
	if e.Mode != filemode.Dir {
		s, err := tree.Size(e.Name)
		if err != nil {
			return nil, &fs.PathError{Op: "stat", Path: e.Name, Err: err}
		}
		size = s
	}
	return t.info(e.Name, e.Mode, size), nil
}

type dirEntry struct {
	fsys *TreeFS
	tree *object.Tree
	e    *object.TreeEntry
}

func (d dirEntry) Name() string               { return d.e.Name }
func (d dirEntry) IsDir() bool                { return d.e.Mode == filemode.Dir }
func (d dirEntry) Type() fs.FileMode          { return d.fsys.info(d.e.Name, d.e.Mode, 0).Mode().Type() }
func (d dirEntry) Info() (fs.FileInfo, error) { return d.fsys.entryInfo(d.tree, d.e) }

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
