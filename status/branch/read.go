package branch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-git/go-billy/v5/util"

	"github.com/kaito-sync/kaito-sync/status"
)

// Read returns the report on the branch, or nil when the branch or its status.json does not
// exist yet. The reporter starts from it, so lastTransitionTime survives a restart.
func (w *Writer) Read(ctx context.Context) (*status.Report, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	_, fs, base, err := w.checkout(ctx)
	if err != nil || base.IsZero() {
		return nil, err
	}
	data, err := util.ReadFile(fs, StatusFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return Decode(bytes.NewReader(data))
}

// Decode parses a status.json.
func Decode(r io.Reader) (*status.Report, error) {
	var rep status.Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, fmt.Errorf("%s: %w", StatusFile, err)
	}
	return &rep, nil
}
