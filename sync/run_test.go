package sync

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/sync/trigger"
)

// slowTarget holds every Apply until release closes, and records whether the apply's context was
// still live when it finished: a graceful stop must let it finish, an abandon must cancel it.
type slowTarget struct {
	applying chan struct{}
	release  chan struct{}
	ctxErr   chan error
}

func (s *slowTarget) Begin(context.Context, source.Snapshot) error { return nil }
func (s *slowTarget) Inventory(context.Context) (map[string][]apply.ObjectRef, error) {
	return nil, nil
}
func (s *slowTarget) Delete(context.Context, string, []apply.ObjectRef) apply.ChangeSet {
	return apply.ChangeSet{}
}
func (s *slowTarget) Finish(context.Context, source.Snapshot) error { return nil }
func (s *slowTarget) Apply(ctx context.Context, _ []apply.Workspace) apply.ChangeSet {
	close(s.applying)
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	s.ctxErr <- ctx.Err()
	return apply.ChangeSet{}
}

func TestRunUntilStopsGracefullyOrAbandons(t *testing.T) {
	tests := []struct {
		name string
		// end is called while the first sync is applying.
		end     func(stop func(), cancel context.CancelFunc, release chan struct{})
		wantErr error
	}{
		{
			name: "stop: the apply in progress runs to its end",
			end: func(stop func(), _ context.CancelFunc, release chan struct{}) {
				stop()
				close(release) // the apply finishes after the stop
			},
			wantErr: nil,
		},
		{
			name:    "ctx ends (leadership lost): the apply is abandoned at once",
			end:     func(_ func(), cancel context.CancelFunc, _ chan struct{}) { cancel() },
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			src := &fixedSource{}
			src.set("c1", map[string]string{"phi-3.yaml": example(t, "inference/phi-3-mini.yaml")})
			target := &slowTarget{applying: make(chan struct{}), release: make(chan struct{}), ctxErr: make(chan error, 1)}
			r := NewReconciler(src, target, presets.Default(), Options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stopCh := make(chan struct{})
			triggers := make(chan trigger.Trigger, 1)
			triggers <- trigger.Trigger{Reason: "queued before the stop"} // must not start a second sync
			reports := 0
			done := make(chan struct{})
			go func() {
				defer close(done)
				r.RunUntil(ctx, stopCh, triggers, func(*Result, error) { reports++ })
			}()
			<-target.applying
			tt.end(func() { close(stopCh) }, cancel, target.release)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("RunUntil did not return")
			}
			is.Equal(<-target.ctxErr, tt.wantErr)
			is.Equal(reports, 1) // the sync in progress is reported, no new one starts
		})
	}
}
