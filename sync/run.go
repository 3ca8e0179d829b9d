package sync

import (
	"context"
	"log/slog"
	"time"

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

// Stages are the two contexts of a graceful shutdown, for the work done while leading.
type Stages struct {
	// Hard ends the sync in progress: at once when leadership is lost, after the grace period
	// once stop has ended. Status writes run under it, so the last one goes out whole.
	Hard context.Context
	// Soft ends as soon as stop does: work that must not start anything new (drift repair).
	Soft context.Context
	// Cancel ends both; call it when the work is done.
	Cancel context.CancelFunc
}

// NewStages derives the shutdown stages from leading (ends when leadership is lost) and stop (ends
// on SIGTERM). onStop runs when stop ends (a readiness probe turning false); the grace period's
// end is logged.
func NewStages(leading, stop context.Context, grace time.Duration, onStop func(), log *slog.Logger) Stages {
	hard, cancelHard := context.WithCancel(leading)
	go func() {
		select {
		case <-stop.Done():
			if onStop != nil {
				onStop()
			}
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-t.C:
				log.Warn("shutdown grace period over: abandoning the sync in progress")
				cancelHard()
			case <-hard.Done():
			}
		case <-hard.Done():
		}
	}()
	soft, cancelSoft := context.WithCancel(hard)
	context.AfterFunc(stop, cancelSoft)
	return Stages{Hard: hard, Soft: soft, Cancel: func() { cancelSoft(); cancelHard() }}
}
