package sync

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"

	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/internal/crashguard"
	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// Options configure a Reconciler.
type Options struct {
	Load  workspaces.Options
	Check workspaces.CheckOptions
	// AllowMassPrune lets one sync remove more than half of the workspaces, or all of them. Off,
	// such a sync applies what it can and prunes nothing: a typo in --path, an emptied folder or
	// a bad merge must not wipe a cluster.
	AllowMassPrune bool
	Logger         *slog.Logger
	// Provisioner gets GPU nodes for valid workspaces and releases those of removed ones; nil means
	// the cluster's nodes are used as they are.
	Provisioner provision.Provisioner
	// Render says what the cluster has of what Kaito sets up (render.Options); the zero value is a
	// plain cluster, render.KaitoDefaults one with Kaito's node provisioner and chart.
	Render render.Options
}

// Reconciler runs syncs from a Source to a Target. Syncs are serialised by the caller (Run).
type Reconciler struct {
	src      source.Source
	target   Target
	renderer *render.Renderer
	cat      *presets.Catalog
	opts     Options
	log      *slog.Logger
	// rendered is what the last sync handed to the target, by workspace key (see renderAll). Only
	// SyncOnce touches it, and syncs are serialised.
	rendered map[string]rendered
}

// rendered is one workspace's objects as handed to the target. They are shared with the target's
// callers and with later syncs, so they are never changed once handed out.
type rendered struct {
	revision string // apply.Workspace.Revision
	objs     []*unstructured.Unstructured
}

// NewReconciler wires a sync. Unless opts.Load.Cache is set, the Reconciler gets a cache of its
// own from its second sync on: every sync loads the whole repository, and after a push nearly all
// of it is unchanged. Not on the first: the cache keeps copies of what it decodes, which a
// `sync --once` would pay for (a tenth of its peak memory) and never use.
func NewReconciler(src source.Source, target Target, cat *presets.Catalog, opts Options) *Reconciler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{src: src, target: target, renderer: render.NewWithOptions(cat, opts.Render), cat: cat, opts: opts, log: log}
}

// Result is the outcome of one sync.
type Result struct {
	Commit string
	// CommitTime is when Commit was made (zero for a folder that is not a Git checkout).
	CommitTime time.Time
	// Dirty: what was synced is a local working tree with uncommitted changes on top of Commit.
	Dirty    bool
	Started  time.Time
	Duration time.Duration
	// FetchDuration is the time the source took to fetch; FetchErr is set when the fetch failed.
	FetchDuration time.Duration
	FetchErr      error
	// Set is what was loaded (workspaces, companions, problems).
	Set     *workspaces.Set
	Changes apply.ChangeSet
	// RenderErrors are valid workspaces that failed to render, by key.
	RenderErrors map[string]error
	// Rendered counts the valid workspaces rendered in this sync; the others kept the objects of
	// the sync before, their render input being unchanged.
	Rendered int
	// PruneBlocked says why nothing was pruned, when something would have been.
	PruneBlocked string
	// PruneKept are the workspaces (keys, sorted) the target holds that Git no longer declares, or
	// whose file did not load, left running because the prune was refused: the status keeps
	// showing them.
	PruneKept []string
	// Nodes is the provisioner's state per workspace key, when a provisioner is configured.
	Nodes map[string]provision.NodeState
}

// Failed reports whether anything in the sync failed: a problem, a render, an apply or a delete.
func (r *Result) Failed() bool {
	return (r.Set != nil && r.Set.Problems.HasErrors()) || len(r.RenderErrors) > 0 || r.Changes.Failed()
}

// Counts are the valid and invalid workspaces of the sync (workspaces.Set.Counts).
func (r *Result) Counts() (valid, invalid int) {
	if r.Set == nil {
		return 0, 0
	}
	return r.Set.Counts()
}

// SyncOnce fetches, loads, renders, applies and prunes once.
//
// A panic in it (a bug) fails this sync with the panic as its error, and the daemon goes on to the
// next: a process that died on it would restart into the same panic on every start. Decoding,
// validation and rendering catch their own panics first, per file and per workspace.
func (r *Reconciler) SyncOnce(ctx context.Context) (*Result, error) {
	res := &Result{Started: time.Now(), RenderErrors: map[string]error{}, Nodes: map[string]provision.NodeState{}}
	defer func() { res.Duration = time.Since(res.Started) }()
	err := crashguard.Run(func() error { return r.syncOnce(ctx, res) })
	return res, err
}

func (r *Reconciler) syncOnce(ctx context.Context, res *Result) error {
	snap, err := r.src.Fetch(ctx)
	res.FetchDuration = time.Since(res.Started)
	if err != nil {
		res.FetchErr = err
		return fmt.Errorf("fetch: %w", err)
	}
	res.Commit, res.CommitTime, res.Dirty = snap.Commit, snap.Time, snap.Dirty
	if err := r.target.Begin(ctx, snap); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	loadOpts := r.opts.Load
	loadOpts.PathPrefix = snap.Path
	set, err := workspaces.Load(snap.Tree, ".", loadOpts)
	if r.opts.Load.Cache == nil {
		r.opts.Load.Cache = workspaces.NewFileCache() // for the next sync (see NewReconciler)
	}
	if err != nil {
		return fmt.Errorf("load at %s: %w", gitbranch.ShortCommit(snap.Commit), err)
	}
	workspaces.Check(set, r.cat, r.opts.Check)
	res.Set = set

	valid := set.Valid()
	desired := r.renderAll(valid, set, snap.Commit, res)

	// Nodes are asked for before the workload is applied; a workload whose nodes are not ready yet
	// is applied all the same and waits Pending, so the user sees it and its reason at once.
	r.ensureNodes(ctx, valid, set, res)
	res.Changes = r.target.Apply(ctx, desired)
	applied := map[string]bool{}
	for _, ws := range desired {
		applied[ws.Key] = true
	}
	for _, c := range res.Changes.Entries {
		if c.Action == apply.Failed {
			applied[c.Workspace] = false
		}
	}

	prunes, blocked, kept, err := r.prunePlan(ctx, set, desired, applied)
	if err != nil {
		return err
	}
	res.PruneBlocked, res.PruneKept = blocked, kept
	for _, key := range slices.Sorted(maps.Keys(prunes)) {
		res.Changes.Append(r.target.Delete(ctx, key, prunes[key]))
	}
	if blocked == "" {
		r.releaseNodes(ctx, set, res)
	}
	if err := r.target.Finish(ctx, snap); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	return nil
}

// prunePlan decides what to delete. Only workspaces Git positively no longer declares lose their
// objects, and only when the snapshot loaded completely; a workspace that is still declared loses
// only objects its new rendering no longer has, and only after that rendering applied cleanly.
// When the guard refuses, kept are the workspaces it keeps.
func (r *Reconciler) prunePlan(ctx context.Context, set *workspaces.Set, desired []apply.Workspace, applied map[string]bool) (plan map[string][]apply.ObjectRef, blocked string, kept []string, err error) {
	inv, err := r.target.Inventory(ctx)
	if err != nil {
		return nil, "", nil, fmt.Errorf("inventory: %w", err)
	}
	declared, anonymous := set.Declared()

	plan = map[string][]apply.ObjectRef{}
	var gone []string
	for key, refs := range inv {
		if declared[key] {
			continue
		}
		gone = append(gone, key)
		plan[key] = refs
	}
	slices.Sort(gone)
	blocked = pruneRefusal(set, anonymous, gone, len(inv), r.opts.AllowMassPrune)
	if blocked != "" { // Result.PruneBlocked says it: the caller logs the whole outcome once
		plan, kept = map[string][]apply.ObjectRef{}, gone
	}

	// Objects a still-declared workspace no longer renders (a headless Service after count 2 → 1).
	for _, ws := range desired {
		if !applied[ws.Key] {
			continue
		}
		want := map[apply.ObjectRef]bool{}
		for _, o := range ws.Objects {
			want[apply.RefOf(o)] = true
		}
		for _, ref := range inv[ws.Key] {
			if !want[ref] {
				plan[ws.Key] = append(plan[ws.Key], ref)
			}
		}
	}
	return plan, blocked, kept, nil
}

// PruneRefusal is the rule a sync prunes by: it says why removing the workspaces gone (sorted keys
// the target holds and set no longer declares) out of the total the target holds must not happen,
// or "" when it may. A set that did not load completely, a document tied to no workspace, and —
// unless allowMassPrune (--allow-mass-prune) — removing more than half of the workspaces, or all of
// them, refuse it. plan calls it to say what the sync would refuse.
func PruneRefusal(set *workspaces.Set, gone []string, total int, allowMassPrune bool) string {
	_, anonymous := set.Declared()
	return pruneRefusal(set, anonymous, gone, total, allowMassPrune)
}

func pruneRefusal(set *workspaces.Set, anonymous bool, gone []string, total int, allowMassPrune bool) string {
	switch {
	case len(gone) == 0:
		return ""
	case !set.Complete():
		return fmt.Sprintf("files did not load completely (%s)", strings.Join(set.Broken, ", "))
	case anonymous:
		return "a document could not be tied to a workspace"
	case !allowMassPrune && (len(gone) == total || 2*len(gone) > total):
		return fmt.Sprintf("it would remove %d of %d workspaces (%s); pass --allow-mass-prune if that is meant",
			len(gone), total, strings.Join(gone, ", "))
	}
	return ""
}

// markRecreate stamps the workspace's immutable-field fingerprint on its workloads, so a change
// Kaito would refuse (instanceType, count, preset...) is carried out by delete and create. It
// changes objs in place: the renderer hands out copies the caller owns, and another copy of every
// workload of a fleet was a tenth of a first sync's peak memory. It runs once per render, before
// the objects are handed out; objects kept for later syncs are never stamped again.
func markRecreate(objs []*unstructured.Unstructured, key string) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		switch o.GetKind() {
		case "StatefulSet", "Deployment", "Job":
			ann := o.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[ownership.AnnotationRecreateKey] = key
			o.SetAnnotations(ann)
		}
		out[i] = o
	}
	return out
}

// revision names what a workspace's objects are made of (apply.Workspace.Revision): the render
// hash, which covers the workspace, its companions, the catalog entries and the renderer version,
// and the source path, the one input of the objects it leaves out. It also covers markRecreate's
// stamp: ImmutableKey reads apiVersion, resource, inference and tuning, and the hash marshals the
// whole workspace but its status. The source commit is left out on purpose: it is volatile
// (apply excludes it from its hash).
func revision(hash, path string) string { return hash + "\x00" + path }

// renderAll renders the valid workspaces on every core: a cold render is krusty-bound (tens of ms),
// and a first sync renders them all. The Renderer is safe for concurrent use; order is kept.
//
// A workspace whose revision is the one of the last sync keeps the objects handed out then, and
// only its render hash is computed: a render cache hit still copies every object and a push
// changes one workspace in a fleet. Those objects name the commit they were rendered at, not this
// one. That is the design of the source-commit annotation: it is volatile, apply neither hashes
// nor compares it, so the live value goes on naming the commit that last changed the workspace.
func (r *Reconciler) renderAll(valid []*workspaces.Workspace, set *workspaces.Set, commit string, res *Result) []apply.Workspace {
	type outcome struct {
		rendered
		fresh bool
		err   error
	}
	prev := r.rendered // read by the workers, written only after them
	outs := make([]outcome, len(valid))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, ws := range valid {
		g.Go(func() error {
			comps := set.CompanionsOf(ws)
			if old, ok := prev[ws.Key()]; ok {
				// An error here is the render's: Objects below reports it.
				if hash, err := r.renderer.Hash(ws, comps); err == nil && revision(hash, ws.Source.Path) == old.revision {
					outs[i].rendered = old
					return nil
				}
			}
			// Objects, not Render: a sync never reads the overlay files, and a workspace whose
			// shape was built needs none written (render/shape.go).
			out, err := r.renderer.Objects(ws, comps, render.Source{Path: ws.Source.Path, Commit: commit})
			if err != nil {
				outs[i].err = err // per workspace: the others render on
				return nil
			}
			outs[i].fresh = true
			outs[i].revision = revision(out.Hash, ws.Source.Path)
			outs[i].objs = markRecreate(out.Objects, workspaces.ImmutableKey(ws))
			return nil
		})
	}
	_ = g.Wait()
	var desired []apply.Workspace
	// Workspaces no longer valid or declared, and those that failed, are forgotten.
	r.rendered = make(map[string]rendered, len(valid))
	for i, ws := range valid {
		if err := outs[i].err; err != nil {
			res.RenderErrors[ws.Key()] = err
			continue
		}
		if outs[i].fresh {
			res.Rendered++
		}
		r.rendered[ws.Key()] = outs[i].rendered
		desired = append(desired, apply.Workspace{Key: ws.Key(), Objects: outs[i].objs, Revision: outs[i].revision})
	}
	return desired
}
