package sync

import (
	"context"
	"log/slog"

	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/trigger"
)

// Run syncs once, then again on every trigger, until ctx ends. Syncs never overlap; triggers that
// arrive during a sync collapse into one more sync after it. report sees every outcome.
func (r *Reconciler) Run(ctx context.Context, triggers <-chan trigger.Trigger, report func(*Result, error)) {
	r.RunUntil(ctx, ctx.Done(), triggers, report)
}

// RunUntil is Run with two ways to end: when stop closes, no new sync starts and the one in
// progress runs to its end (a graceful shutdown: a commit is applied whole, not half); when ctx
// ends, the sync in progress is abandoned at once (leadership lost: another replica takes over and
// two must never apply together).
func (r *Reconciler) RunUntil(ctx context.Context, stop <-chan struct{}, triggers <-chan trigger.Trigger, report func(*Result, error)) {
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return ctx.Err() != nil
		}
	}
	if stopped() {
		return
	}
	res, err := r.SyncOnce(ctx)
	report(res, err)
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case t, ok := <-triggers:
			if !ok || stopped() {
				return
			}
			r.log.Debug("sync triggered", "reason", t.Reason)
			res, err := r.SyncOnce(ctx)
			report(res, err)
		}
	}
}

// RepairDrift puts back what others changed in kaito-sync's objects, as the manager's watch
// reports it, until ctx ends. No polling and no dry runs: an edit is repaired when it happens.
func RepairDrift(ctx context.Context, m *apply.Manager, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case ref := <-m.Drift():
			c := m.Repair(ctx, ref)
			if c.Err != nil {
				log.Error("drift repair failed", "object", ref.String(), "err", c.Err)
				continue
			}
			log.Info("drift repaired", "object", ref.String(), "workspace", c.Workspace)
		}
	}
}
