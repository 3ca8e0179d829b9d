package sync

import (
	"context"
	"fmt"
	"io"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// GitBranch is a hydrate target on a branch of a Git repository: rendered manifests are committed
// there, one commit per source commit that changed them, naming it, and none when nothing changed.
// It publishes as the status branch does (gitbranch): when someone else pushed to the branch in
// the meantime, the sync's writes and removals are committed again on top of their commit.
type GitBranch struct {
	URL    string
	Branch string
	Auth   transport.AuthMethod
	Author object.Signature
	// DryRun reads the branch and reports what a sync would change on it; it commits and pushes
	// nothing.
	DryRun bool

	files *Files
	edit  gitbranch.Edit
	// repo and tip are Begin's checkout, which Finish commits on unless the branch moved.
	repo *git.Repository
	tip  plumbing.Hash
}

func (g *GitBranch) branch() *gitbranch.Branch {
	return &gitbranch.Branch{URL: g.URL, Name: g.Branch, Auth: g.Auth, Author: g.Author}
}

// Begin reads the branch's tip (or starts it empty), so the sync compares with what the remote
// holds now, whoever else pushed.
func (g *GitBranch) Begin(ctx context.Context, _ source.Snapshot) (err error) {
	defer func() { err = gitbranch.RedactError(err, g.URL) }() // Git errors may quote the URL, credentials and all
	repo, tip, err := g.branch().Checkout(ctx)
	if err != nil {
		return fmt.Errorf("branch %s of %s: %w", g.Branch, gitbranch.RedactURL(g.URL), err)
	}
	fs := memfs.New()
	if !tip.IsZero() {
		c, err := repo.CommitObject(tip)
		if err != nil {
			return err
		}
		if err := copyTree(c, fs); err != nil {
			return fmt.Errorf("branch %s: %w", g.Branch, err)
		}
	}
	g.repo, g.tip = repo, tip
	g.edit = gitbranch.Edit{Files: map[string][]byte{}}
	g.files = &Files{FS: fs, DryRun: g.DryRun, edit: &g.edit}
	return nil
}

// copyTree writes the files of the commit's rendered/ folder into fs: what the sync compares with
// and prunes from. Other files of the branch are never read, and kept as they are.
func copyTree(c *object.Commit, fs billy.Filesystem) error {
	tree, err := c.Tree()
	if err != nil {
		return err
	}
	sub, err := tree.Tree(RenderedDir)
	if err != nil {
		return nil // no rendered/ yet
	}
	return sub.Files().ForEach(func(f *object.File) error {
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		w, err := fs.Create(RenderedDir + "/" + f.Name)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, r); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	})
}

// Finish commits and pushes what the sync wrote and removed, if anything.
func (g *GitBranch) Finish(ctx context.Context, snap source.Snapshot) (err error) {
	defer func() { err = gitbranch.RedactError(err, g.URL) }() // Git errors may quote the URL, credentials and all
	if g.DryRun || g.edit.Empty() {
		return nil
	}
	msg := fmt.Sprintf("kaito-sync: render %s\n\nRendered from commit %s", gitbranch.ShortCommit(snap.Commit), snap.Commit)
	if snap.Message != "" {
		msg += fmt.Sprintf(" (%q)", firstLine(snap.Message))
	}
	msg += ".\n"
	edit := g.edit
	_, err = g.branch().PublishFrom(ctx, g.repo, g.tip, func(*object.Commit) (gitbranch.Edit, string, error) { return edit, msg, nil })
	if err != nil {
		return fmt.Errorf("branch %s of %s: %w", g.Branch, gitbranch.RedactURL(g.URL), err)
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
	return g.files.Inventory(ctx)
}

func (g *GitBranch) Apply(ctx context.Context, wss []apply.Workspace) apply.ChangeSet {
	return g.files.Apply(ctx, wss)
}

func (g *GitBranch) Delete(ctx context.Context, wsKey string, refs []apply.ObjectRef) apply.ChangeSet {
	return g.files.Delete(ctx, wsKey, refs)
}
