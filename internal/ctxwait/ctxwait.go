// Package ctxwait waits a while unless the context ends first: the pause between retries and
// polls (AKS operations, a Git push on a moved tip, status -w) that a shutdown must cut short.
package ctxwait

import (
	"context"
	"time"
)

// Sleep waits d, or returns ctx.Err() as soon as ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
