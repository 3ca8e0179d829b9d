package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// OpenRepository opens the Git repository at repo: a local folder (the repository or any folder
// inside its work tree) is opened in place; anything else is taken for a URL and cloned into
// memory with every branch and tag and full history, so any revision of it can be resolved.
func OpenRepository(ctx context.Context, repo string, auth transport.AuthMethod) (*git.Repository, error) {
	if info, err := os.Stat(repo); err == nil && info.IsDir() {
		r, err := git.PlainOpenWithOptions(repo, &git.PlainOpenOptions{DetectDotGit: true})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", repo, err)
		}
		return r, nil
	}
	r, err := git.CloneContext(ctx, newStorage(), nil, &git.CloneOptions{
		URL:        repo,
		Auth:       auth,
		NoCheckout: true,
		Tags:       git.AllTags,
	})
	if err != nil {
		return nil, RedactError(fmt.Errorf("git %s: %w", RedactURL(repo), err), repo)
	}
	return r, nil
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
	if err != nil {
		return Snapshot{}, fmt.Errorf("revision %q: %w", rev, err)
	}
	commit, err := repo.CommitObject(*h)
	if err != nil {
		return Snapshot{}, fmt.Errorf("revision %q: %w", rev, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return Snapshot{}, fmt.Errorf("revision %q: %w", rev, err)
	}
	p := strings.Trim(path.Clean("/"+dir), "/")
	var fsys fs.FS = NewTreeFS(tree, commit.Committer.When)
	if p != "" {
		if fsys, err = fs.Sub(fsys, p); err != nil {
			return Snapshot{}, fmt.Errorf("path %q: not a folder at %s (%s)", dir, rev, ShortCommit(commit.Hash.String()))
		}
	}
	return Snapshot{
		Commit:  commit.Hash.String(),
		Time:    commit.Committer.When,
		Message: strings.TrimSpace(commit.Message),
		Tree:    fsys,
		Path:    p,
	}, nil
}
