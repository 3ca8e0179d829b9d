package sync

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/internal/crashguard"
	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/sync/apply"
)

// panicTarget is a folder target whose Apply panics while panics is set, and that counts Deletes.
type panicTarget struct {
	*Files
	panics  bool
	deletes int
}

func (p *panicTarget) Apply(ctx context.Context, wss []apply.Workspace) apply.ChangeSet {
	if p.panics {
		fields := strings.Split(wss[0].Key, "|")
		_ = fields[1] // a bug: index out of range
	}
	return p.Files.Apply(ctx, wss)
}

func (p *panicTarget) Delete(ctx context.Context, key string, refs []apply.ObjectRef) apply.ChangeSet {
	p.deletes++
	return p.Files.Delete(ctx, key, refs)
}

// A panic during a sync fails that sync, prunes nothing, and leaves the reconciler able to run
// the next one: the daemon logs a failed sync and goes on, where a crash would restart into the
// same panic forever.
func TestSyncPanicFailsThatSyncAlone(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	phi, qwen := example(t, "inference/phi-3-mini.yaml"), example(t, "multi-gpu/qwen-coder-32b-2-gpus.yaml")
	src := &fixedSource{}
	target := &panicTarget{Files: &Files{FS: memfs.New()}}
	r := NewReconciler(src, target, presets.Default(), Options{})

	src.set("c1", map[string]string{"phi.yaml": phi, "qwen.yaml": qwen})
	_, err := r.SyncOnce(ctx)
	is.NoErr(err)

	// qwen.yaml is removed, and the sync that would prune it panics before it gets there.
	src.set("c2", map[string]string{"phi.yaml": phi})
	target.panics = true
	res, err := r.SyncOnce(ctx)
	var bug *crashguard.Error
	is.True(errors.As(err, &bug))
	is.True(strings.HasPrefix(bug.Where, "sync/reconciler_panic_test.go:")) // the line that panicked
	is.True(res != nil && res.Duration > 0)
	is.Equal(target.deletes, 0) // nothing pruned

	// The next sync runs whole, prune included.
	target.panics = false
	res, err = r.SyncOnce(ctx)
	is.NoErr(err)
	is.True(target.deletes > 0)
	is.Equal(res.Commit, "c2")
}
