package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// GitOptions configure a Git source.
type GitOptions struct {
	URL    string
	Branch string // default "main"
	// Path is the folder inside the repository that holds the workspaces; "" or "." for the root.
	Path string
	Auth transport.AuthMethod
	// Depth of fetches; 0 means 1 (only the tip is needed to sync). Negative means full history.
	Depth int
	// RecloneEvery bounds memory: the in-memory object store is rebuilt from scratch after this
	// many fetches that brought new commits (0 means 50).
	RecloneEvery int
	// Timeout bounds one fetch (0 means 5 minutes): a server that accepts the connection and then
	// stalls must fail this sync, not hang every later one.
	Timeout time.Duration
	// KeyRing, when set, holds armored OpenPGP public keys (see ReadKeyRing): the fetched tip must
	// carry a signature that verifies against one of them, or the fetch fails and nothing syncs.
	KeyRing string
}

// DefaultFetchTimeout is GitOptions.Timeout when none is given.
const DefaultFetchTimeout = 5 * time.Minute

// Git reads a branch of a remote repository into memory: a shallow clone first, then incremental
// fetches. Nothing is checked out on disk; the tree is read from Git objects.
type Git struct {
	opts GitOptions

	mu      sync.Mutex
	repo    *git.Repository
	fetches int
}

// NewGit returns a Git source; nothing is fetched until Fetch.
func NewGit(opts GitOptions) *Git {
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if opts.Depth == 0 {
		opts.Depth = 1
	}
	if opts.Depth < 0 {
		opts.Depth = 0
	}
	if opts.RecloneEvery <= 0 {
		opts.RecloneEvery = 50
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultFetchTimeout
	}
	return &Git{opts: opts}
}

func (g *Git) remoteRef() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName("origin", g.opts.Branch)
}

// Fetch brings the branch up to date and returns its tip. Errors name the remote without its
// credentials.
func (g *Git) Fetch(ctx context.Context) (Snapshot, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fctx, cancel := context.WithTimeout(ctx, g.opts.Timeout)
	err := g.update(fctx)
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no complete answer within %v (the server is slow or stalled): %w", g.opts.Timeout, err)
		}
		return Snapshot{}, gitbranch.RedactError(fmt.Errorf("git %s (branch %s): %w", gitbranch.RedactURL(g.opts.URL), g.opts.Branch, err), g.opts.URL)
	}
	snap, err := g.snapshot()
	if err != nil {
		return Snapshot{}, gitbranch.RedactError(fmt.Errorf("git %s (branch %s): %w", gitbranch.RedactURL(g.opts.URL), g.opts.Branch, err), g.opts.URL)
	}
	return snap, nil
}

func (g *Git) update(ctx context.Context) error {
	if g.repo == nil || g.fetches >= g.opts.RecloneEvery {
		return g.clone(ctx)
	}
	err := g.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec(fmt.Sprintf("+refs/heads/%s:%s", g.opts.Branch, g.remoteRef()))},
		Auth:       g.opts.Auth,
		Depth:      g.opts.Depth,
		Force:      true,
	})
	switch {
	case err == nil:
		g.fetches++
		return nil
	case errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case isTransient(err):
		return err
	}
	// A shallow store can fail to apply a fetch after a force-push rewrote history; a fresh clone
	// always works and costs one shallow transfer.
	return g.clone(ctx)
}

// isTransient reports errors a fresh clone would not fix: the network, the server, credentials.
func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) ||
		errors.Is(err, transport.ErrRepositoryNotFound) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "timeout") ||
		strings.Contains(msg, "unexpected client error") || strings.Contains(msg, "unexpected requesting")
}

func (g *Git) clone(ctx context.Context) error {
	repo, err := git.CloneContext(ctx, newStorage(), nil, &git.CloneOptions{
		URL:           g.opts.URL,
		Auth:          g.opts.Auth,
		ReferenceName: plumbing.NewBranchReferenceName(g.opts.Branch),
		SingleBranch:  true,
		Depth:         g.opts.Depth,
		NoCheckout:    true,
		Tags:          git.NoTags,
	})
	if err != nil {
		return err
	}
	g.repo, g.fetches = repo, 0
	return nil
}

func (g *Git) snapshot() (Snapshot, error) {
	ref, err := g.repo.Reference(g.remoteRef(), true)
	if err != nil {
		// A fresh clone stores the branch under refs/heads.
		ref, err = g.repo.Reference(plumbing.NewBranchReferenceName(g.opts.Branch), true)
		if err != nil {
			return Snapshot{}, fmt.Errorf("branch not found: %w", err)
		}
	}
	commit, err := g.repo.CommitObject(ref.Hash())
	if err != nil {
		return Snapshot{}, err
	}
	snap, err := snapshotOf(commit, g.opts.Path, g.opts.KeyRing)
	snap.Branch = g.opts.Branch
	return snap, err
}
