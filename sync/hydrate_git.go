package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// GitBranch is a hydrate target on a branch of a Git repository: rendered manifests are committed
// there, one commit per source commit that changed them, naming it, and none when nothing changed.
type GitBranch struct {
	URL    string
	Branch string
	Auth   transport.AuthMethod
	Author object.Signature

	files *Files
	repo  *git.Repository
}

// Begin clones the branch fresh (or starts it empty), so the sync writes on top of what the
// remote holds now, whoever else pushed.
func (g *GitBranch) Begin(ctx context.Context, _ source.Snapshot) (err error) {
	defer func() { err = source.RedactError(err, g.URL) }() // Git errors may quote the URL, credentials and all
	fs := memfs.New()
	repo, err := git.CloneContext(ctx, memory.NewStorage(), fs, &git.CloneOptions{
		URL: g.URL, Auth: g.Auth, ReferenceName: plumbing.NewBranchReferenceName(g.Branch),
		SingleBranch: true, Depth: 1, Tags: git.NoTags,
	})
	if err != nil {
		if !isMissingBranch(err) {
			return source.RedactError(fmt.Errorf("clone %s branch %s: %w", source.RedactURL(g.URL), g.Branch, err), g.URL)
		}
		// The branch does not exist yet: start it as an orphan with no history.
		repo, err = git.InitWithOptions(memory.NewStorage(), fs, git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(g.Branch)})
		if err != nil {
			return err
		}
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{g.URL}}); err != nil {
			return err
		}
	}
	g.repo, g.files = repo, &Files{FS: fs}
	return nil
}

func isMissingBranch(err error) bool {
	var nf git.NoMatchingRefSpecError
	return errors.As(err, &nf) || errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, transport.ErrEmptyRemoteRepository)
}

func (g *GitBranch) target() *Files { return g.files }

// Finish commits and pushes when the files changed.
func (g *GitBranch) Finish(ctx context.Context, snap source.Snapshot) (err error) {
	defer func() { err = source.RedactError(err, g.URL) }() // Git errors may quote the URL, credentials and all
	wt, err := g.repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return err
	}
	status, err := wt.Status()
	if err != nil {
		return err
	}
	if status.IsClean() {
		return nil
	}
	author := g.Author
	if author.Name == "" {
		author = object.Signature{Name: "kaito-sync", Email: "kaito-sync@users.noreply.local"}
	}
	author.When = time.Now()
	msg := fmt.Sprintf("kaito-sync: render %s\n\nRendered from commit %s", source.ShortCommit(snap.Commit), snap.Commit)
	if snap.Message != "" {
		msg += fmt.Sprintf(" (%q)", firstLine(snap.Message))
	}
	msg += ".\n"
	if _, err := wt.Commit(msg, &git.CommitOptions{Author: &author, AllowEmptyCommits: false}); err != nil {
		return err
	}
	ref := plumbing.NewBranchReferenceName(g.Branch)
	err = g.repo.PushContext(ctx, &git.PushOptions{
		RemoteName: "origin", Auth: g.Auth,
		RefSpecs: []config.RefSpec{config.RefSpec(ref + ":" + ref)},
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return source.RedactError(fmt.Errorf("push %s branch %s: %w", source.RedactURL(g.URL), g.Branch, err), g.URL)
	}
	return nil
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

func (g *GitBranch) Inventory(ctx context.Context) (map[string][]apply.ObjectRef, error) {
	return g.target().Inventory(ctx)
}

func (g *GitBranch) Apply(ctx context.Context, wss []apply.Workspace) apply.ChangeSet {
	return g.target().Apply(ctx, wss)
}

func (g *GitBranch) Delete(ctx context.Context, wsKey string, refs []apply.ObjectRef) apply.ChangeSet {
	return g.target().Delete(ctx, wsKey, refs)
}
