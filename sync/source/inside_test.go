package source_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/sync/source"
)

// Inside follows links, also to a folder not made yet.
func TestInside(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, dir string
		want      bool
	}{
		{dir, dir, true},
		{filepath.Join(dir, "a", "b"), dir, true},
		{filepath.Join(link, "new"), dir, true}, // through a symbolic link, to a folder not made yet
		{filepath.Join(dir, "..", "other"), dir, false},
		{dir + "-sibling", dir, false},
		{filepath.Join(dir, "..a"), dir, true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			is := is.New(t)
			got, err := source.Inside(tc.path, tc.dir)
			is.NoErr(err)
			is.Equal(got, tc.want)
		})
	}
}
