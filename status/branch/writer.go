package branch

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// DefaultBranch is where statuses go unless told otherwise.
const DefaultBranch = "kaito-status"

// Writer publishes reports on one branch of one repository, through gitbranch: a write that
// finds the branch moved is rebuilt on the new tip, never forced.
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

func (w *Writer) branch() *gitbranch.Branch {
	return &gitbranch.Branch{URL: w.URL, Name: w.Branch, Auth: w.Auth, Author: w.Author,
		Attempts: w.Attempts, Backoff: w.Backoff, BeforePush: w.beforePush}
}

// Validate checks the branch name before anything is cloned or pushed.
func (w *Writer) Validate() error {
	if err := w.branch().Validate(); err != nil {
		return fmt.Errorf("status branch: %w", err)
	}
	return nil
}

// Write commits the report's files on the branch and pushes, unless no file changed. When the
// push is refused because the branch moved, it starts again from the new tip.
func (w *Writer) Write(ctx context.Context, rep *status.Report) (committed bool, err error) {
	defer func() { err = gitbranch.RedactError(err, w.URL) }() // Git errors may quote the URL, credentials and all
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

// publish commits the rendered files on the branch (see Write).
func (w *Writer) publish(ctx context.Context, files map[string][]byte, rep *status.Report) (bool, error) {
	b := w.branch()
	// The workspaces folder is the writer's alone: a workspace gone from the report loses its
	// file. Everything else on the branch (a person's notes) is kept.
	committed, err := b.Publish(ctx, func(*object.Commit) (gitbranch.Edit, string, error) {
		return gitbranch.Edit{Files: files, Remove: []string{WorkspacesDir}}, Message(rep), nil
	})
	w.retries.Add(b.Retries())
	if err != nil {
		return false, fmt.Errorf("status branch %s of %s: %w", w.Branch, gitbranch.RedactURL(w.URL), err)
	}
	return committed, nil
}

// Message names the source commit in the subject and every source commit synced since the last
// status commit in Source-Commit trailers, so none is skipped silently.
func Message(rep *status.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kaito-sync status: %s (%s)\n\n", gitbranch.ShortCommit(rep.SourceCommit), summary(rep))
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
