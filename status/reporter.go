package status

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// Writer publishes reports; status/branch.Writer is the one kaito-sync uses.
type Writer interface {
	// Write publishes the report; committed is false when nothing changed.
	Write(ctx context.Context, rep *Report) (committed bool, err error)
	// Read returns the last report published, or nil.
	Read(ctx context.Context) (*Report, error)
}

// ReporterOptions configure a Reporter.
type ReporterOptions struct {
	Writer Writer
	// Config is the cluster to watch; nil in hydrate mode (conditions are Unknown, NoCluster).
	Config *rest.Config
	// Selector picks the objects watched (default: kaito-sync's managed-by label, which its pods
	// carry too).
	Selector string
	// Root, when set, is the sync root (the kaito.sh/sync-root label kaito-sync's apply puts on
	// what it applies): objects are then watched only if they carry it too, so a cluster serving
	// several sync roots costs each reporter its own objects only. Pods do not carry it (it is not
	// in pod templates: adding it would roll every workload) and stay selected by Selector alone.
	// Empty: every object Selector picks, whatever its sync root.
	Root string
	// Debounce collects the burst of events of one rollout into one write (default 300ms).
	Debounce time.Duration
	// RetryAfter is the wait before a failed write is tried again (default 5s).
	RetryAfter time.Duration
	Logger     *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnPublish, when set, sees every write: the report, whether a commit was made, the error.
	OnPublish func(rep *Report, committed bool, err error)
}

// Reporter keeps the statuses of one sync root and publishes them when they change: after each
// sync (Observe) and whenever the cluster changes (Run watches it), so a pod becoming Ready shows
// on the branch within seconds, without waiting for the next sync.
type Reporter struct {
	opts  ReporterOptions
	log   *slog.Logger
	kick  chan struct{}
	ready chan struct{} // closed when Run has read the branch and the watches have listed

	mu        sync.Mutex
	last      *ksync.Result
	pending   []string // source commits synced and not yet published
	published *Report
	cluster   Cluster
	runErr    error // why Run stopped before it was ready

	publishMu sync.Mutex // one write at a time
}

// NewReporter builds a Reporter; call Run.
func NewReporter(opts ReporterOptions) *Reporter {
	if opts.Selector == "" {
		opts.Selector = ownership.LabelManagedBy + "=" + ownership.ManagedBy
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 300 * time.Millisecond
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reporter{opts: opts, log: log, kick: make(chan struct{}, 1), ready: make(chan struct{})}
}

// selector is the label selector of the watch of kind.
func (o ReporterOptions) selector(kind string) string {
	if o.Root == "" || kind == "Pod" {
		return o.Selector
	}
	return o.Selector + "," + ownership.LabelSyncRoot + "=" + o.Root
}

// Observe takes the outcome of a sync. A sync that failed before loading anything (a fetch error)
// says nothing about the workspaces and is ignored. A nil Reporter ignores everything, so callers
// without a status branch need no conditions.
func (r *Reporter) Observe(res *ksync.Result) {
	if r == nil || res == nil || res.Set == nil {
		return
	}
	r.mu.Lock()
	r.last = res
	if res.Commit != "" && !slices.Contains(r.pending, res.Commit) {
		r.pending = append(r.pending, res.Commit)
	}
	r.mu.Unlock()
	r.poke()
}

func (r *Reporter) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run reads the last published report back (so lastTransitionTime survives restarts), watches
// the cluster, and publishes after each change until ctx ends.
func (r *Reporter) Run(ctx context.Context) error {
	prev, err := r.opts.Writer.Read(ctx)
	if err != nil {
		// A branch that cannot be read now is not a reason to publish nothing: statuses restart.
		r.log.Warn("status branch: reading the previous statuses failed; transition times restart", "err", err)
	}
	var cluster Cluster
	if r.opts.Config != nil {
		live, err := watchCluster(ctx, r.opts.Config, r.opts.selector, r.poke)
		if err != nil {
			r.mu.Lock()
			r.runErr = err
			r.mu.Unlock()
			close(r.ready) // Flush must not wait for a Run that has ended
			return err
		}
		cluster = live
	}
	r.mu.Lock()
	r.published, r.cluster = prev, cluster
	r.mu.Unlock()
	close(r.ready)

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
		}
		// Let the burst of events of one change settle into one write.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.opts.Debounce):
		}
		if err := r.publish(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("status branch: write failed; trying again", "err", err, "in", r.opts.RetryAfter)
			time.AfterFunc(r.opts.RetryAfter, r.poke)
		}
	}
}

// Flush publishes now, for a single sync (--once); it waits for Run to be ready.
func (r *Reporter) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.ready:
	}
	r.mu.Lock()
	err := r.runErr
	r.mu.Unlock()
	if err != nil {
		return err
	}
	return r.publish(ctx)
}

// publish computes the statuses and writes them when they differ from those published.
func (r *Reporter) publish(ctx context.Context) error {
	r.publishMu.Lock()
	defer r.publishMu.Unlock()
	r.mu.Lock()
	res, prev, cluster, pending := r.last, r.published, r.cluster, slices.Clone(r.pending)
	r.mu.Unlock()
	if res == nil {
		return nil // nothing to say before the first sync; its Observe will call again
	}
	rep := Compute(Input{Result: res, Cluster: cluster, Previous: prev, Now: r.opts.Now()})
	// A commit the last report already named (synced again after a restart or a leader change)
	// is not named twice.
	for _, c := range pending {
		if prev == nil || c != prev.SourceCommit {
			rep.SyncedCommits = append(rep.SyncedCommits, c)
		}
	}
	committed := false
	var err error
	if prev == nil || !Equal(rep, prev) || !onlyResync(pending, prev) {
		committed, err = r.opts.Writer.Write(ctx, rep)
	}
	if r.opts.OnPublish != nil {
		r.opts.OnPublish(rep, committed, err)
	}
	if err != nil {
		return err
	}
	if committed {
		r.log.Info("statuses published", "source", res.Commit, "workspaces", len(rep.Workspaces))
	}
	r.mu.Lock()
	r.published = rep
	r.pending = r.pending[min(len(pending), len(r.pending)):]
	r.mu.Unlock()
	return nil
}

// onlyResync reports whether every pending commit is the one already published: syncing the same
// commit again records nothing new.
func onlyResync(pending []string, prev *Report) bool {
	for _, c := range pending {
		if c != prev.SourceCommit {
			return false
		}
	}
	return true
}
