package branch

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/matryer/is"
)

// The folder holds what a status branch would, is rewritten only when a file changes, loses the
// files of removed workspaces, and reads back what it holds.
func TestFolder(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	f := &Folder{Dir: filepath.Join(t.TempDir(), "status")}
	got, err := f.Read(ctx)
	is.NoErr(err)
	is.Equal(got, nil) // nothing yet

	rep := report()
	committed, err := f.Write(ctx, rep)
	is.NoErr(err)
	is.True(committed)
	committed, err = f.Write(ctx, rep)
	is.NoErr(err)
	is.True(!committed) // the same files

	files, err := Render(rep, func(string, int, string) string { return "" })
	is.NoErr(err)
	gone := WorkspaceFile(rep.Workspaces[0].Namespace, rep.Workspaces[0].Name)
	_, err = os.Stat(filepath.Join(f.Dir, filepath.FromSlash(gone)))
	is.NoErr(err)
	is.True(files[gone] != nil)

	fewer := report()
	fewer.Workspaces = fewer.Workspaces[1:]
	committed, err = f.Write(ctx, fewer)
	is.NoErr(err)
	is.True(committed)
	_, err = os.Stat(filepath.Join(f.Dir, filepath.FromSlash(gone)))
	is.True(os.IsNotExist(err)) // a removed workspace leaves no file

	back, err := f.Read(ctx)
	is.NoErr(err)
	is.Equal(len(back.Workspaces), len(fewer.Workspaces))
}
