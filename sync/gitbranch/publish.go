package gitbranch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
	"sync/atomic"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/kaito-sync/kaito-sync/internal/ctxwait"
)

// Branch is one branch of one repository that commits are published on.
type Branch struct {
	URL    string
	Name   string
	Auth   transport.AuthMethod
	Author object.Signature
	// Attempts bounds pushes refused because someone else pushed first (default 8).
	Attempts int
	// Backoff is the first wait before rebuilding on a moved branch; it doubles, with jitter, so
	// two writers racing for the branch stop colliding (default 50ms).
	Backoff time.Duration
	// BeforePush, when set, runs before each push: tests push a competing commit at the worst moment.
	BeforePush func(attempt int)

	retries atomic.Int64
}

// Change is what to commit on top of the branch's tip: an edit of its tree and the message. tip is
// the commit it applies to, nil on a branch with no history yet; it is called again on the new tip
// when the push is refused.
type Change func(tip *object.Commit) (Edit, string, error)

// Retries counts pushes that were refused and rebuilt on top of someone else's commit.
func (b *Branch) Retries() int64 { return b.retries.Load() }

// Validate checks the URL and branch name before anything is cloned or pushed.
func (b *Branch) Validate() error {
	if b.URL == "" {
		return errors.New("no repository URL")
	}
	if b.Name == "" || plumbing.NewBranchReferenceName(b.Name).Validate() != nil {
		return fmt.Errorf("branch %q: not a valid branch name", b.Name)
	}
	return nil
}

// Publish commits change on the branch and pushes it, unless it changes no file; committed says
// whether a commit was pushed. A push refused because the branch moved is rebuilt on the new tip.
func (b *Branch) Publish(ctx context.Context, change Change) (committed bool, err error) {
	return b.PublishFrom(ctx, nil, plumbing.ZeroHash, change)
}

// PublishFrom is Publish starting from a checkout the caller already made (Checkout's repo and
// tip), so a caller that read the branch first does not clone it twice; a retry on a moved
// branch clones the new tip. A nil repo is Publish.
func (b *Branch) PublishFrom(ctx context.Context, repo *git.Repository, base plumbing.Hash, change Change) (committed bool, err error) {
	if err := b.Validate(); err != nil {
		return false, err
	}
	attempts, backoff := b.Attempts, b.Backoff
	if attempts <= 0 {
		attempts = 8
	}
	if backoff <= 0 {
		backoff = 50 * time.Millisecond
	}
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			if err := ctxwait.Sleep(ctx, jitter(backoff<<(attempt-2))); err != nil {
				return false, err
			}
		}
		if repo == nil || attempt > 1 {
			if repo, base, err = b.Checkout(ctx); err != nil {
				return false, err
			}
		}
		hash, err := b.commit(repo, base, change)
		if err != nil || hash.IsZero() {
			return false, err
		}
		if b.BeforePush != nil {
			b.BeforePush(attempt)
		}
		ref := plumbing.NewBranchReferenceName(b.Name)
		err = repo.PushContext(ctx, &git.PushOptions{
			RemoteName: "origin", Auth: b.Auth,
			// Only this branch, never forced: someone else's commit is never overwritten.
			RefSpecs: []config.RefSpec{config.RefSpec(ref.String() + ":" + ref.String())},
		})
		if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
			return true, nil
		}
		tip, lerr := b.tip(ctx)
		if lerr != nil || tip == base {
			return false, fmt.Errorf("push: %w", err)
		}
		b.retries.Add(1) // the branch moved under us: rebuild on its new tip
	}
	return false, fmt.Errorf("push refused %d times, the branch keeps moving", attempts)
}

// Checkout clones the branch's tip, or starts the branch with no history when it does not exist
// (a zero hash). The clone is bare: commits are built from objects, and a worktree would hold a
// second copy of every file of the branch.
func (b *Branch) Checkout(ctx context.Context) (*git.Repository, plumbing.Hash, error) {
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: b.URL, Auth: b.Auth, ReferenceName: plumbing.NewBranchReferenceName(b.Name),
		SingleBranch: true, Depth: 1, Tags: git.NoTags,
	})
	if err == nil {
		head, err := repo.Head()
		if err != nil {
			return nil, plumbing.ZeroHash, err
		}
		return repo, head.Hash(), nil
	}
	if !missingBranch(err) {
		return nil, plumbing.ZeroHash, fmt.Errorf("clone: %w", err)
	}
	repo, err = git.InitWithOptions(memory.NewStorage(), nil, git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(b.Name)})
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{b.URL}}); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	return repo, plumbing.ZeroHash, nil
}

func missingBranch(err error) bool {
	var nf git.NoMatchingRefSpecError
	return errors.As(err, &nf) || errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, transport.ErrEmptyRemoteRepository)
}

// tip is the branch's commit on the remote now (zero when it does not exist).
func (b *Branch) tip(ctx context.Context) (plumbing.Hash, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{b.URL}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: b.Auth})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	want := plumbing.NewBranchReferenceName(b.Name)
	for _, r := range refs {
		if r.Name() == want {
			return r.Hash(), nil
		}
	}
	return plumbing.ZeroHash, nil
}

// commit applies change to base (zero for none), commits the tree on top of it and points the
// branch at the commit; a zero hash means nothing changed.
func (b *Branch) commit(repo *git.Repository, base plumbing.Hash, change Change) (plumbing.Hash, error) {
	var tip *object.Commit
	var baseTree plumbing.Hash
	var parents []plumbing.Hash
	if !base.IsZero() {
		c, err := repo.CommitObject(base)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		tip, baseTree, parents = c, c.TreeHash, []plumbing.Hash{base}
	}
	edit, msg, err := change(tip)
	if err != nil || edit.Empty() {
		return plumbing.ZeroHash, err
	}
	for name := range edit.Files {
		if !InTree(name) {
			return plumbing.ZeroHash, fmt.Errorf("refusing to write %q outside the tree", name)
		}
	}
	for _, name := range edit.Remove {
		if !InTree(name) {
			return plumbing.ZeroHash, fmt.Errorf("refusing to remove %q outside the tree", name)
		}
	}
	tree, err := BuildTree(repo.Storer, baseTree, edit)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if tree == baseTree || (baseTree.IsZero() && tree == emptyTree) {
		return plumbing.ZeroHash, nil
	}
	author := b.Author
	if author.Name == "" {
		author = object.Signature{Name: "kaito-sync", Email: "kaito-sync@users.noreply.local"}
	}
	author = object.Signature{Name: unsafeSig.Replace(author.Name), Email: unsafeSig.Replace(author.Email), When: time.Now()}
	c := &object.Commit{Author: author, Committer: author, Message: msg, TreeHash: tree, ParentHashes: parents}
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	hash, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return hash, repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(b.Name), hash))
}

// emptyTree is the hash of a tree with no entries: committing it as a first commit changes nothing.
var emptyTree = plumbing.ComputeHash(plumbing.TreeObject, nil)

// unsafeSig drops what would break a signature line, as go-git's worktree commit (and git) do.
var unsafeSig = strings.NewReplacer("<", "", ">", "", "\n", "")

// InTree tells whether name is a clean path inside the tree, with no segment git refuses.
func InTree(name string) bool {
	if name != path.Clean(name) || name == "." || strings.HasPrefix(name, "../") || name == ".." || strings.HasPrefix(name, "/") {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.EqualFold(seg, ".git") {
			return false
		}
	}
	return true
}

// jitter is d ± 50%, so writers that collided once do not collide again in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}
