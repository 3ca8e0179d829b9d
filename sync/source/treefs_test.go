package source

import (
	"fmt"
	"io/fs"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/workspaces"
)

// countingStorer counts the tree objects read (each read is a decode).
type countingStorer struct {
	storer.EncodedObjectStorer
	trees atomic.Int64
}

func (c *countingStorer) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, err := c.EncodedObjectStorer.EncodedObject(t, h)
	if err == nil && o.Type() == plumbing.TreeObject {
		c.trees.Add(1)
	}
	return o, err
}

// manyFiles stores a tree with n files in filler/ and one at the top, and returns its root read
// through a counting storer.
func manyFiles(tb testing.TB, n int) (*object.Tree, *countingStorer) {
	tb.Helper()
	st := memory.NewStorage()
	put := func(o interface {
		Encode(plumbing.EncodedObject) error
	}, t plumbing.ObjectType) plumbing.Hash {
		obj := st.NewEncodedObject()
		obj.SetType(t)
		if err := o.Encode(obj); err != nil {
			tb.Fatal(err)
		}
		h, err := st.SetEncodedObject(obj)
		if err != nil {
			tb.Fatal(err)
		}
		return h
	}
	blob := func(content string) plumbing.Hash {
		obj := st.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, _ := obj.Writer()
		_, _ = w.Write([]byte(content))
		_ = w.Close()
		h, err := st.SetEncodedObject(obj)
		if err != nil {
			tb.Fatal(err)
		}
		return h
	}
	filler := &object.Tree{}
	for i := range n {
		filler.Entries = append(filler.Entries, object.TreeEntry{Name: fmt.Sprintf("f%05d.yaml", i), Mode: filemode.Regular, Hash: blob(fmt.Sprintf("# %d\n", i))})
	}
	root := &object.Tree{Entries: []object.TreeEntry{
		{Name: "a.yaml", Mode: filemode.Regular, Hash: blob("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")},
		{Name: "filler", Mode: filemode.Dir, Hash: put(filler, plumbing.TreeObject)},
	}}
	h := put(root, plumbing.TreeObject)
	c := &countingStorer{EncodedObjectStorer: st}
	tr, err := object.GetTree(c, h)
	if err != nil {
		tb.Fatal(err)
	}
	return tr, c
}

// Reading every file of a folder decodes the folder once, not once per file: ten thousand files
// in one folder took about a minute to load before.
func TestTreeFSDecodesEachFolderOnce(t *testing.T) {
	is := is.New(t)
	root, c := manyFiles(t, 2000)
	fsys := NewTreeFS(root, time.Unix(0, 0))
	set, err := workspaces.Load(fsys, ".", workspaces.Options{})
	is.NoErr(err)
	is.Equal(set.Files, 2001)
	is.Equal(len(set.Problems), 0)
	t.Logf("%d tree reads for 2001 files in 2 folders", c.trees.Load())
	is.True(c.trees.Load() <= 3) // root (read to build the FS), filler (once); not one per file
	info, err := fs.Stat(fsys, "filler/f00042.yaml")
	is.NoErr(err)
	is.Equal(info.Size(), int64(len("# 42\n")))
}

func BenchmarkTreeFSLoad10k(b *testing.B) {
	root, _ := manyFiles(b, 10_000)
	for b.Loop() {
		if _, err := workspaces.Load(NewTreeFS(root, time.Unix(0, 0)), ".", workspaces.Options{MaxFiles: 20_000}); err != nil {
			b.Fatal(err)
		}
	}
}
