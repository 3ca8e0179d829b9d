package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/status/branch"
	ksync "github.com/kaito-sync/kaito-sync/sync"
)

// folderStatus writes the status files (README dashboard, status.json, one file per workspace,
// SVG) next to the rendered manifests of --target dir: hydrate mode with no Git remote still
// answers "is my model valid, what did it render, what is wrong and where".
type folderStatus struct {
	dir      string
	previous *status.Report
}

func (f *folderStatus) write(res *ksync.Result) error {
	if f == nil || res == nil || res.Set == nil {
		return nil
	}
	root := filepath.Join(f.dir, "status")
	if f.previous == nil {
		// The statuses an earlier run left (a --once run each time): transition times, and the
		// last known status of a workspace whose file no longer loads, carry over from them.
		if data, err := os.ReadFile(filepath.Join(root, branch.StatusFile)); err == nil {
			f.previous, _ = branch.Decode(bytes.NewReader(data))
		}
	}
	rep := status.Compute(status.Input{Result: res, Previous: f.previous, Now: time.Now()})
	files, err := branch.Render(rep, func(string, int, string) string { return "" })
	if err != nil {
		return err
	}
	if err := os.RemoveAll(root); err != nil { // removed workspaces leave no file behind
		return err
	}
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("status %s: %w", name, err)
		}
	}
	f.previous = rep
	return nil
}
