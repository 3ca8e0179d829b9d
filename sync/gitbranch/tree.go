package gitbranch

import (
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// The tree is built from objects, with no worktree: a worktree would write every file of the
// branch to memory, hash all of them again and keep an index, for a report that changes a few
// files at a time.

// dir is a folder being rebuilt, by entry name.
type dir map[string]*entry

// entry is one entry of a folder being rebuilt. An entry nobody touches keeps its mode and hash,
// so a folder the writer does not own is never read, let alone rewritten.
type entry struct {
	mode filemode.FileMode
	hash plumbing.Hash
	sub  dir // the folder's entries once something beneath it changes; its hash is then stale
}

// treeBuilder rebuilds a tree in a repository's object store.
type treeBuilder struct {
	s    storer.EncodedObjectStorer
	root dir
}

// Edit is a change to a tree: Remove's paths (files or whole folders) go first, then Files are
// written, each replacing whatever stood at its path, folder or file. Paths are clean and
// slash-separated (Publish checks them).
type Edit struct {
	Files  map[string][]byte
	Remove []string
}

// Empty reports whether the edit changes nothing whatever the tree.
func (e Edit) Empty() bool { return len(e.Files) == 0 && len(e.Remove) == 0 }

// BuildTree returns the hash of the tree base (zero for none) with e applied, storing the objects
// it makes in s.
func BuildTree(s storer.EncodedObjectStorer, base plumbing.Hash, e Edit) (plumbing.Hash, error) {
	b := &treeBuilder{s: s}
	root, err := b.load(base)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	b.root = root
	for _, name := range e.Remove {
		if err := b.remove(name); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	names := make([]string, 0, len(e.Files))
	for name := range e.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := b.put(name, e.Files[name]); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	return b.write(b.root)
}

// remove drops the entry at name, a file or a folder; a path that is not there is no error.
func (b *treeBuilder) remove(name string) error {
	segs := strings.Split(name, "/")
	d := b.root
	for _, seg := range segs[:len(segs)-1] {
		e := d[seg]
		if e == nil || e.mode != filemode.Dir {
			return nil
		}
		if e.sub == nil {
			sub, err := b.load(e.hash)
			if err != nil {
				return err
			}
			e.sub = sub
		}
		d = e.sub
	}
	delete(d, segs[len(segs)-1])
	return nil
}

// load reads the entries of a stored tree; a zero hash is an empty folder.
func (b *treeBuilder) load(h plumbing.Hash) (dir, error) {
	if h.IsZero() {
		return dir{}, nil
	}
	t, err := object.GetTree(b.s, h)
	if err != nil {
		return nil, err
	}
	d := make(dir, len(t.Entries))
	for _, e := range t.Entries {
		d[e.Name] = &entry{mode: e.Mode, hash: e.Hash}
	}
	return d, nil
}

func (b *treeBuilder) put(name string, content []byte) error {
	segs := strings.Split(name, "/")
	d := b.root
	for _, seg := range segs[:len(segs)-1] {
		e := d[seg]
		switch {
		case e == nil || e.mode != filemode.Dir:
			e = &entry{mode: filemode.Dir, sub: dir{}}
			d[seg] = e
		case e.sub == nil:
			sub, err := b.load(e.hash)
			if err != nil {
				return err
			}
			e.sub = sub
		}
		d = e.sub
	}
	h, err := b.blob(content)
	if err != nil {
		return err
	}
	d[segs[len(segs)-1]] = &entry{mode: filemode.Regular, hash: h}
	return nil
}

// blob stores content unless the store holds it already: most files of a report are the same as
// on the tip, and storing them again would copy each one for nothing.
func (b *treeBuilder) blob(content []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(plumbing.BlobObject, content)
	if b.s.HasEncodedObject(h) == nil {
		return h, nil
	}
	obj := b.s.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(content)))
	wr, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := wr.Write(content); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wr.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return b.s.SetEncodedObject(obj)
}

// write stores the tree of d and of every changed folder beneath it.
func (b *treeBuilder) write(d dir) (plumbing.Hash, error) {
	t := &object.Tree{Entries: make([]object.TreeEntry, 0, len(d))}
	for name, e := range d {
		h := e.hash
		if e.sub != nil {
			if len(e.sub) == 0 {
				continue // Git keeps no empty folder
			}
			var err error
			if h, err = b.write(e.sub); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: e.mode, Hash: h})
	}
	// Git's order: bytes of the names, a folder compared as if its name ended in "/". A tree in
	// another order hashes differently from the one git makes and fails git fsck; Encode checks.
	sort.Sort(object.TreeEntrySorter(t.Entries))
	obj := b.s.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	if b.s.HasEncodedObject(obj.Hash()) == nil {
		return obj.Hash(), nil
	}
	return b.s.SetEncodedObject(obj)
}
