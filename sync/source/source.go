// Package source fetches the workspace files kaito-sync reconciles: a Git repository (HTTPS, SSH,
// file://) read straight from its objects, or a local folder. A fetch yields a Snapshot: one commit
// and its tree as an fs.FS.
package source

import (
	"context"
	"io/fs"
	"time"
)

// Snapshot is the state of the source at one commit.
type Snapshot struct {
	// Commit is the full commit hash; empty for a folder that is not a Git checkout.
	Commit  string
	Branch  string
	Time    time.Time
	Message string
	// Tree holds the files under the configured path (--path), read-only.
	Tree fs.FS
	// Path is that folder's place in the repository ("" for the root), so files can be named
	// as the repository names them.
	Path string
	// Dirty is set for a local work tree whose files under Path differ from Commit: what was read
	// is the working tree with uncommitted changes, not Commit.
	Dirty bool
}

// Source is where workspaces come from.
type Source interface {
	Fetch(ctx context.Context) (Snapshot, error)
}
