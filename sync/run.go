package sync

import (
	"context"

	"github.com/kaito-sync/kaito-sync/sync/trigger"
)

// Run syncs once, then again on every trigger, until ctx ends. Syncs never overlap; triggers that
// arrive during a sync collapse into one more sync after it. report sees every outcome.
func (r *Reconciler) Run(ctx context.Context, triggers <-chan trigger.Trigger, report func(*Result, error)) {
	res, err := r.SyncOnce(ctx)
	report(res, err)
	for {
		select {
		case <-ctx.Done():
			return
		case t, ok := <-triggers:
			if !ok {
				return
			}
			r.log.Debug("sync triggered", "reason", t.Reason)
			res, err := r.SyncOnce(ctx)
			report(res, err)
		}
	}
}
