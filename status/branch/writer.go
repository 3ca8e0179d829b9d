package branch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// DefaultBranch is where statuses go unless told otherwise.
const DefaultBranch = "kaito-status"

// Writer publishes reports on one branch of one repository.
type Writer struct {
	URL    string
	Branch string
	Auth   transport.AuthMethod
	Author object.Signature
	// Link makes the README's links to source files; nil links relative to the branch (right when
	// the branch lives in the source repository on GitHub or GitLab).
	Link LinkFunc
	// Attempts bounds pushes refused because someone else pushed first (default 8).
	Attempts int
	// Backoff is the first wait before rebuilding on a moved branch; it doubles, with jitter, so
	// two writers racing for the branch stop colliding (default 50ms).
	Backoff time.Duration

	retries atomic.Int64
	// beforePush lets tests push a competing commit at the worst moment.
	beforePush func(attempt int)
}

// Retries counts pushes that were refused and rebuilt on top of someone else's commit.
func (w *Writer) Retries() int64 { return w.retries.Load() }

// Validate checks the branch name before anything is cloned or pushed.
func (w *Writer) Validate() error {
	if w.URL == "" {
		return errors.New("status branch: no repository URL")
	}
	ref := plumbing.NewBranchReferenceName(w.Branch)
	if w.Branch == "" || ref.Validate() != nil {
		return fmt.Errorf("status branch %q: not a valid branch name", w.Branch)
	}
	return nil
}

// Write commits the report's files on the branch and pushes, unless no file changed. When the
// push is refused because the branch moved, it starts again from the new tip.
func (w *Writer) Write(ctx context.Context, rep *status.Report) (committed bool, err error) {
	defer func() { err = source.RedactError(err, w.URL) }() // Git errors may quote the URL, credentials and all
	if err := w.Validate(); err != nil {
		return false, err
	}
	link := w.Link
	if link == nil {
		link = RelativeLink(w.Branch)
	}
	files, err := Render(rep, link)
	if err != nil {
		return false, fmt.Errorf("status branch %s: render: %w", w.Branch, err)
	}
	return w.publish(ctx, files, rep)
}

// publish commits files on the branch and pushes them, retrying on a moved branch (see Write).
func (w *Writer) publish(ctx context.Context, files map[string][]byte, rep *status.Report) (bool, error) {
	attempts := w.Attempts
	if attempts <= 0 {
		attempts = 8
	}
	backoff := w.Backoff
	if backoff <= 0 {
		backoff = 50 * time.Millisecond
	}
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, jitter(backoff<<(attempt-2))); err != nil {
				return false, err
			}
		}
		repo, base, err := w.checkout(ctx)
		if err != nil {
			return false, err
		}
		hash, err := w.commit(repo, base, files, rep)
		if err != nil || hash.IsZero() {
			return false, err
		}
		if w.beforePush != nil {
			w.beforePush(attempt)
		}
		ref := plumbing.NewBranchReferenceName(w.Branch)
		err = repo.PushContext(ctx, &git.PushOptions{
			RemoteName: "origin", Auth: w.Auth,
			// Only this branch, never forced: someone else's commit is never overwritten.
			RefSpecs: []config.RefSpec{config.RefSpec(ref.String() + ":" + ref.String())},
		})
		if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
			return true, nil
		}
		tip, lerr := w.tip(ctx)
		if lerr != nil || tip == base {
			return false, source.RedactError(fmt.Errorf("status branch %s of %s: push: %w", w.Branch, source.RedactURL(w.URL), err), w.URL)
		}
		w.retries.Add(1) // the branch moved under us: rebuild on its new tip
	}
	return false, fmt.Errorf("status branch %s of %s: push refused %d times, the branch keeps moving", w.Branch, source.RedactURL(w.URL), attempts)
}

// jitter is d ± 50%, so writers that collided once do not collide again in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// checkout clones the branch's tip, or starts the branch with no history when it does not exist.
// The clone is bare: the commit is built from objects (see buildTree), and a worktree would hold
// a second copy of every file of the branch.
func (w *Writer) checkout(ctx context.Context) (*git.Repository, plumbing.Hash, error) {
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: w.URL, Auth: w.Auth, ReferenceName: plumbing.NewBranchReferenceName(w.Branch),
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
		return nil, plumbing.ZeroHash, source.RedactError(fmt.Errorf("status branch %s of %s: clone: %w", w.Branch, source.RedactURL(w.URL), err), w.URL)
	}
	repo, err = git.InitWithOptions(memory.NewStorage(), nil, git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(w.Branch)})
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{w.URL}}); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	return repo, plumbing.ZeroHash, nil
}

func missingBranch(err error) bool {
	var nf git.NoMatchingRefSpecError
	return errors.As(err, &nf) || errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, transport.ErrEmptyRemoteRepository)
}

// tip is the branch's commit on the remote now (zero when it does not exist).
func (w *Writer) tip(ctx context.Context) (plumbing.Hash, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{w.URL}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: w.Auth})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	want := plumbing.NewBranchReferenceName(w.Branch)
	for _, r := range refs {
		if r.Name() == want {
			return r.Hash(), nil
		}
	}
	return plumbing.ZeroHash, nil
}

// commit builds base's tree with the writer's files replaced, commits it on top of base (zero for
// none) and points the branch at it; a zero hash means nothing changed.
func (w *Writer) commit(repo *git.Repository, base plumbing.Hash, files map[string][]byte, rep *status.Report) (plumbing.Hash, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !inTree(name) {
			return plumbing.ZeroHash, fmt.Errorf("status branch %s: refusing to write %q outside the tree", w.Branch, name)
		}
	}
	var baseTree plumbing.Hash
	var parents []plumbing.Hash
	if !base.IsZero() {
		c, err := repo.CommitObject(base)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		baseTree, parents = c.TreeHash, []plumbing.Hash{base}
	}
	// The workspaces folder is the writer's alone: a workspace gone from the report loses its file.
	tree, err := buildTree(repo.Storer, baseTree, WorkspacesDir, names, files)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if tree == baseTree || (baseTree.IsZero() && tree == emptyTree) {
		return plumbing.ZeroHash, nil
	}
	author := w.Author
	if author.Name == "" {
		author = object.Signature{Name: "kaito-sync", Email: "kaito-sync@users.noreply.local"}
	}
	author = object.Signature{Name: unsafeSig.Replace(author.Name), Email: unsafeSig.Replace(author.Email), When: time.Now()}
	c := &object.Commit{Author: author, Committer: author, Message: Message(rep), TreeHash: tree, ParentHashes: parents}
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	hash, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return hash, repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(w.Branch), hash))
}

// emptyTree is the hash of a tree with no entries: committing it as a first commit changes nothing.
var emptyTree = plumbing.ComputeHash(plumbing.TreeObject, nil)

// unsafeSig drops what would break a signature line, as go-git's worktree commit (and git) do.
var unsafeSig = strings.NewReplacer("<", "", ">", "", "\n", "")

// inTree tells whether name is a clean path inside the tree, with no segment git refuses.
func inTree(name string) bool {
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

// Message names the source commit in the subject and every source commit synced since the last
// status commit in Source-Commit trailers, so none is skipped silently.
func Message(rep *status.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kaito-sync status: %s (%s)\n\n", source.ShortCommit(rep.SourceCommit), summary(rep))
	fmt.Fprintf(&b, "Workspace statuses after syncing source commit %s.\n\n", rep.SourceCommit)
	commits := rep.SyncedCommits
	if len(commits) == 0 && rep.SourceCommit != "" {
		commits = []string{rep.SourceCommit}
	}
	for _, c := range commits {
		fmt.Fprintf(&b, "Source-Commit: %s\n", c)
	}
	return b.String()
}
