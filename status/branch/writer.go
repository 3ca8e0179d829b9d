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

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/util"
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
		repo, fs, base, err := w.checkout(ctx)
		if err != nil {
			return false, err
		}
		hash, err := w.commit(repo, fs, files, rep)
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
			return false, fmt.Errorf("status branch %s of %s: push: %w", w.Branch, source.RedactURL(w.URL), err)
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
func (w *Writer) checkout(ctx context.Context) (*git.Repository, billy.Filesystem, plumbing.Hash, error) {
	fs := memfs.New()
	repo, err := git.CloneContext(ctx, memory.NewStorage(), fs, &git.CloneOptions{
		URL: w.URL, Auth: w.Auth, ReferenceName: plumbing.NewBranchReferenceName(w.Branch),
		SingleBranch: true, Depth: 1, Tags: git.NoTags,
	})
	if err == nil {
		head, err := repo.Head()
		if err != nil {
			return nil, nil, plumbing.ZeroHash, err
		}
		return repo, fs, head.Hash(), nil
	}
	if !missingBranch(err) {
		return nil, nil, plumbing.ZeroHash, fmt.Errorf("status branch %s of %s: clone: %w", w.Branch, source.RedactURL(w.URL), err)
	}
	repo, err = git.InitWithOptions(memory.NewStorage(), fs, git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(w.Branch)})
	if err != nil {
		return nil, nil, plumbing.ZeroHash, err
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{w.URL}}); err != nil {
		return nil, nil, plumbing.ZeroHash, err
	}
	return repo, fs, plumbing.ZeroHash, nil
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

// commit replaces the writer's files in the worktree and commits; a zero hash means nothing
// changed.
func (w *Writer) commit(repo *git.Repository, fs billy.Filesystem, files map[string][]byte, rep *status.Report) (plumbing.Hash, error) {
	// The workspaces folder is the writer's alone: a workspace gone from the report loses its file.
	if err := util.RemoveAll(fs, WorkspacesDir); err != nil {
		return plumbing.ZeroHash, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != path.Clean(name) || strings.HasPrefix(name, "../") || strings.HasPrefix(name, "/") {
			return plumbing.ZeroHash, fmt.Errorf("status branch %s: refusing to write %q outside the tree", w.Branch, name)
		}
		if err := util.WriteFile(fs, name, files[name], 0o644); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	wt, err := repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return plumbing.ZeroHash, err
	}
	st, err := wt.Status()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if st.IsClean() {
		return plumbing.ZeroHash, nil
	}
	author := w.Author
	if author.Name == "" {
		author = object.Signature{Name: "kaito-sync", Email: "kaito-sync@users.noreply.local"}
	}
	author.When = time.Now()
	return wt.Commit(Message(rep), &git.CommitOptions{Author: &author})
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
