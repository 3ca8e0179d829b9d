package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// OpenRepository opens the Git repository repo names (see ResolveRepo and Repo.Open): a work
// tree, or a folder inside one, or a bare repository, in place; a URL cloned into memory with every
// branch and tag and full history, so any revision of it can be resolved.
func OpenRepository(ctx context.Context, repo string, auth transport.AuthMethod) (*git.Repository, error) {
	r, err := ResolveRepo(repo)
	if err != nil {
		return nil, gitbranch.RedactError(err, repo)
	}
	repository, err := r.Open(ctx, auth)
	return repository, gitbranch.RedactError(err, repo)
}

// Revision resolves rev (a branch, tag, commit hash, "origin/x", "HEAD~1"...) in repo and returns
// the snapshot of its tree under dir ("" for the root). A branch that exists only on the remote
// of a clone ("feature" for "origin/feature") is found too.
func Revision(repo *git.Repository, rev, dir string) (Snapshot, error) {
	if rev == "" {
		return Snapshot{}, errors.New("no revision given")
	}
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil && !strings.HasPrefix(rev, "origin/") {
		if h2, err2 := repo.ResolveRevision(plumbing.Revision("origin/" + rev)); err2 == nil {
			h, err = h2, nil
		}
	}
	if errors.Is(err, io.EOF) {
		// go-git's answer for a walk past the first commit (HEAD~N too far back, or a shallow clone).
		err = errors.New("not in the history this repository holds (too far back, or a shallow clone: fetch more history)")
	}
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		// go-git says "reference not found"; say which names there are.
		err = fmt.Errorf("no branch, tag or commit of that name; %s", branchList(repo))
		if rev == "HEAD" {
			err = fmt.Errorf("the repository's HEAD names no existing branch; give --base and --head a branch; %s", branchList(repo))
		}
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("revision %q: %w", rev, err)
	}
	commit, err := repo.CommitObject(*h)
	if err != nil {
		return Snapshot{}, fmt.Errorf("revision %q: %w", rev, err)
	}
	snap, err := snapshotOf(commit, dir, "")
	if err != nil {
		return Snapshot{}, fmt.Errorf("revision %q: %w", rev, err)
	}
	return snap, nil
}
