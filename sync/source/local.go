package source

import (
	"context"
	"fmt"
	"os"
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
	dir := filepath.Join(l.Dir, filepath.FromSlash(strings.Trim(l.Path, "/")))
	info, err := os.Stat(dir)
	if err != nil {
		return Snapshot{}, err
	}
	if !info.IsDir() {
		return Snapshot{}, fmt.Errorf("%s is not a folder", dir)
	}
	snap := Snapshot{Tree: os.DirFS(dir), Path: strings.Trim(filepath.ToSlash(filepath.Clean("/"+l.Path)), "/")}
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
