package branch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// Read returns the report on the branch, or nil when the branch or its status.json does not
// exist yet. The reporter starts from it, so lastTransitionTime survives a restart.
func (w *Writer) Read(ctx context.Context) (rep *status.Report, err error) {
	defer func() { err = gitbranch.RedactError(err, w.URL) }() // Git errors may quote the URL, credentials and all
	if err := w.Validate(); err != nil {
		return nil, err
	}
	repo, base, err := w.branch().Checkout(ctx)
	if err != nil || base.IsZero() {
		return nil, err
	}
	c, err := repo.CommitObject(base)
	if err != nil {
		return nil, err
	}
	return ReadCommit(c)
}

// ReadCommit returns the report a status branch's commit holds, or nil when it has no status.json.
// kaito-sync status reads a local repository's branch with it, in place.
func ReadCommit(c *object.Commit) (*status.Report, error) {
	f, err := c.File(StatusFile)
	if errors.Is(err, object.ErrFileNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return Decode(r)
}

// Decode parses a status.json.
func Decode(r io.Reader) (*status.Report, error) {
	var rep status.Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, fmt.Errorf("%s: %w", StatusFile, err)
	}
	return &rep, nil
}
