package branch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/kaito-sync/kaito-sync/status"
)

// Folder is a status.Writer on a local folder: the files a status branch holds (README dashboard,
// status.json, one file per workspace, badge), written beside the manifests of a folder hydrate
// target, so a sync with no Git remote still answers "is my model valid, what is wrong and where".
// Read gives back what the run before wrote, so transition times and the last known status of a
// workspace whose file broke carry over between --once runs.
type Folder struct {
	Dir string
}

// Write replaces the folder's files with the report's; committed is false when none changed.
func (f *Folder) Write(_ context.Context, rep *status.Report) (committed bool, err error) {
	files, err := Render(rep, func(string, int, string) string { return "" })
	if err != nil {
		return false, fmt.Errorf("status folder %s: render: %w", f.Dir, err)
	}
	if f.holds(files) {
		return false, nil
	}
	if err := os.RemoveAll(f.Dir); err != nil { // removed workspaces leave no file behind
		return false, err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(f.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return false, fmt.Errorf("status folder %s: %w", f.Dir, err)
		}
	}
	return true, nil
}

// holds reports whether the folder already has exactly these files.
func (f *Folder) holds(files map[string][]byte) bool {
	n := 0
	err := filepath.WalkDir(f.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(f.Dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if want, ok := files[filepath.ToSlash(rel)]; err != nil || !ok || !bytes.Equal(data, want) {
			return errors.New("differs")
		}
		n++
		return nil
	})
	return err == nil && n == len(files)
}

// Read returns the report the folder holds, or nil when it holds none.
func (f *Folder) Read(context.Context) (*status.Report, error) {
	data, err := os.ReadFile(filepath.Join(f.Dir, StatusFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return Decode(bytes.NewReader(data))
}
