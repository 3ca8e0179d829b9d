package main

import (
	"fmt"

	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// resolveRepo applies the one --repo rule of sync, plan and status (source.ResolveRepo): a work
// tree or a folder inside one, a bare repository's path, a plain folder, or a Git URL.
func resolveRepo(arg string) (source.Repo, error) {
	if arg == "" {
		return source.Repo{}, usageErrorf("--repo is required")
	}
	r, err := source.ResolveRepo(arg)
	if err != nil {
		return source.Repo{}, usageErrorf("--repo %v", err)
	}
	return r, nil
}

// syncedWhat names what a sync read: a commit, or the working tree — with uncommitted changes on
// top of a commit, or of a folder that is no Git checkout.
func syncedWhat(res *ksync.Result) string {
	commit := gitbranch.ShortCommit(res.Commit)
	switch {
	case commit == "":
		return "working tree"
	case res.Dirty:
		return fmt.Sprintf("working tree with uncommitted changes (on %s)", commit)
	}
	return commit
}
