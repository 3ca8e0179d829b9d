// Package plan compares two versions of a repository's workspaces, as a pull request would change
// them: it loads, validates and renders both (base and head) offline, and reports the workspaces
// added, changed, removed and unchanged, the changes Kaito refuses in place (carried out by
// recreating the workload), a unified diff of every rendered object, and the GPU nodes each
// workspace needs before and after.
package plan

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// Options configure Compute.
type Options struct {
	Load  workspaces.Options
	Check workspaces.CheckOptions
	// Renderer renders both sides; nil means a new one. Base and head always share one, so a
	// workspace that did not change is rendered once and found in the cache the second time.
	Renderer *render.Renderer
	// Context is the number of unchanged lines around each change in object diffs (0 means 3).
	Context int
}

// Action is what happens to a workspace or an object.
type Action string

const (
	Added     Action = "added"
	Changed   Action = "changed"
	Removed   Action = "removed"
	Unchanged Action = "unchanged"
	// Invalid workspaces fail validation (or rendering) at head: nothing of theirs would be applied.
	Invalid Action = "invalid"
)

// Side names one of the compared versions.
type Side struct {
	Commit string `json:"commit,omitempty"`
	Path   string `json:"path,omitempty"`
}

// Plan is the outcome of comparing base with head.
type Plan struct {
	Base Side `json:"base"`
	Head Side `json:"head"`
	// Problems are head's validation problems (errors and warnings), file:line first.
	Problems workspaces.Problems `json:"problems"`
	// BaseInvalid counts base workspaces that were invalid: their objects before are unknown.
	BaseInvalid int          `json:"baseInvalid,omitempty"`
	Workspaces  []*Workspace `json:"workspaces"`
	Summary     Summary      `json:"summary"`
	GPU         GPUTotals    `json:"gpu"`
	// LiveChecked is set by CheckLive.
	LiveChecked bool `json:"liveChecked,omitempty"`
	// PruneRefused says why a sync of head would remove none of the removed workspaces (the
	// sync's own rule, ksync.PruneRefusal, with base's workspaces for what runs): a mass prune
	// without --allow-mass-prune, or a head that did not load completely.
	PruneRefused string `json:"pruneRefused,omitempty"`

	head     *side
	renderer *render.Renderer
}

// Summary counts workspaces by action.
type Summary struct {
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Removed   int `json:"removed"`
	Unchanged int `json:"unchanged"`
	Invalid   int `json:"invalid"`
	Recreate  int `json:"recreate"`
}

// Workspace is the plan of one workspace.
type Workspace struct {
	Key    string `json:"workspace"`
	Action Action `json:"action"`
	// Path is the file that declares the workspace at head (at base when removed).
	Path string `json:"path,omitempty"`
	Line int    `json:"line,omitempty"`
	// Changes are the spec fields that differ; Recreate is set when one of them is immutable in
	// Kaito, so the workload is deleted and created again.
	Changes  []workspaces.Change `json:"changes,omitempty"`
	Recreate bool                `json:"recreate,omitempty"`
	Objects  []Object            `json:"objects,omitempty"`
	Nodes    NodeDelta           `json:"nodes"`
	// Problems are the head errors of an invalid workspace.
	Problems workspaces.Problems `json:"problems,omitempty"`
	// BaseProblems are base's errors of a workspace invalid at base: what runs before the change
	// is unknown, so no change of it is claimed to recreate the workload.
	BaseProblems workspaces.Problems `json:"baseProblems,omitempty"`
	RenderError  string              `json:"renderError,omitempty"`
	// Live compares head's objects with the live cluster (CheckLive); empty without --live.
	Live []LiveObject `json:"live,omitempty"`
}

// Object is one rendered object that is added, changed or removed.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Action    Action `json:"action"`
	// Diff is a unified diff of the object's YAML, base to head.
	Diff string `json:"diff"`
}

// Ref is "Kind namespace/name".
func (o Object) Ref() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Nodes is what a workspace asks of GPU nodes.
type Nodes struct {
	// InstanceType is the VM size; "" for bring-your-own nodes (preferredNodes or a label selector).
	InstanceType string `json:"instanceType,omitempty"`
	Count        int    `json:"count"`
	GPUsPerNode  int    `json:"gpusPerNode"`
	GPUModel     string `json:"gpuModel,omitempty"`
	// GPUMemoryGiB is the GPU memory of one node, over all its GPUs.
	GPUMemoryGiB float64 `json:"gpuMemoryGiB,omitempty"`
}

// GPUs is the number of GPUs over all nodes.
func (n *Nodes) GPUs() int {
	if n == nil {
		return 0
	}
	return n.Count * n.GPUsPerNode
}

// TotalMemoryGiB is the GPU memory over all nodes.
func (n *Nodes) TotalMemoryGiB() float64 {
	if n == nil {
		return 0
	}
	return float64(n.Count) * n.GPUMemoryGiB
}

// PoolAction is what happens to a workspace's node pool (one per workspace with an instance type).
type PoolAction string

const (
	PoolNone    PoolAction = ""
	PoolCreate  PoolAction = "create"
	PoolScale   PoolAction = "scale"
	PoolReplace PoolAction = "replace" // another VM size: a new pool, the old one deleted
	PoolDelete  PoolAction = "delete"
)

// NodeDelta is a workspace's nodes before and after; nil means none.
type NodeDelta struct {
	Before *Nodes     `json:"before,omitempty"`
	After  *Nodes     `json:"after,omitempty"`
	Pool   PoolAction `json:"pool,omitempty"`
}

// Changed reports whether the nodes differ.
func (d NodeDelta) Changed() bool {
	if d.Before == nil || d.After == nil {
		return d.Before != d.After
	}
	return *d.Before != *d.After
}

// GPUTotals sum the nodes of every workspace, base and head.
type GPUTotals struct {
	NodesBefore     int     `json:"nodesBefore"`
	NodesAfter      int     `json:"nodesAfter"`
	GPUsBefore      int     `json:"gpusBefore"`
	GPUsAfter       int     `json:"gpusAfter"`
	MemoryGiBBefore float64 `json:"gpuMemoryGiBBefore"`
	MemoryGiBAfter  float64 `json:"gpuMemoryGiBAfter"`
	PoolsCreate     int     `json:"poolsCreate"`
	PoolsScale      int     `json:"poolsScale"`
	PoolsDelete     int     `json:"poolsDelete"`
}

// HasChanges reports whether applying head would change anything.
func (p *Plan) HasChanges() bool {
	return p.Summary.Added+p.Summary.Changed+p.Summary.Removed > 0
}

// Valid reports whether head has no validation error.
func (p *Plan) Valid() bool { return !p.Problems.HasErrors() }

// side is one loaded and rendered version.
type side struct {
	snap     source.Snapshot
	set      *workspaces.Set
	byKey    map[string]*workspaces.Workspace
	valid    map[string]bool
	rendered map[string]*render.Result
	errs     map[string]error
}

// Compute compares base with head. Only failures to read a tree are errors; invalid workspaces are
// reported in the plan.
func Compute(base, head source.Snapshot, cat *presets.Catalog, opts Options) (*Plan, error) {
	if opts.Renderer == nil {
		opts.Renderer = render.New(cat)
	}
	if opts.Context <= 0 {
		opts.Context = 3
	}
	b, err := load(base, cat, opts)
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", gitbranch.ShortCommit(base.Commit), err)
	}
	h, err := load(head, cat, opts)
	if err != nil {
		return nil, fmt.Errorf("head %s: %w", gitbranch.ShortCommit(head.Commit), err)
	}
	same := untouched(b, h, opts.Renderer)
	b.render(opts.Renderer, same)
	h.render(opts.Renderer, same)

	p := &Plan{
		Base:     Side{Commit: base.Commit, Path: base.Path},
		Head:     Side{Commit: head.Commit, Path: head.Path},
		Problems: h.set.Problems,
		head:     h,
		renderer: opts.Renderer,
	}
	if p.Problems == nil {
		p.Problems = workspaces.Problems{}
	}
	for key := range b.byKey {
		if !b.valid[key] {
			p.BaseInvalid++
		}
	}
	// A workspace named only by a head problem (a document that did not decode) is still declared:
	// it is invalid, not removed.
	declared, _ := h.set.Declared()
	// Nor is one whose file no longer parses: what that file declares is unknown.
	broken := map[string]bool{}
	for _, f := range h.set.Broken {
		broken[f] = true
	}
	for key, ws := range b.byKey {
		if broken[ws.Source.Path] {
			declared[key] = true
		}
	}
	keys := map[string]bool{}
	for k := range b.byKey {
		keys[k] = true
	}
	for k := range declared {
		keys[k] = true
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		w := compare(key, b, h, declared[key], cat, opts)
		p.Workspaces = append(p.Workspaces, w)
		p.count(w)
	}
	if p.Workspaces == nil {
		p.Workspaces = []*Workspace{}
	}
	var gone []string
	for _, w := range p.Workspaces {
		if w.Action == Removed {
			gone = append(gone, w.Key)
		}
	}
	p.PruneRefused = ksync.PruneRefusal(h.set, gone, len(b.byKey), false)
	return p, nil
}

func (p *Plan) count(w *Workspace) {
	switch w.Action {
	case Added:
		p.Summary.Added++
	case Changed:
		p.Summary.Changed++
	case Removed:
		p.Summary.Removed++
	case Unchanged:
		p.Summary.Unchanged++
	case Invalid:
		p.Summary.Invalid++
	}
	if w.Recreate {
		p.Summary.Recreate++
	}
	g := &p.GPU
	if n := w.Nodes.Before; n != nil {
		g.NodesBefore += n.Count
		g.GPUsBefore += n.GPUs()
		g.MemoryGiBBefore += n.TotalMemoryGiB()
	}
	if n := w.Nodes.After; n != nil {
		g.NodesAfter += n.Count
		g.GPUsAfter += n.GPUs()
		g.MemoryGiBAfter += n.TotalMemoryGiB()
	}
	switch w.Nodes.Pool {
	case PoolCreate:
		g.PoolsCreate++
	case PoolScale:
		g.PoolsScale++
	case PoolDelete:
		g.PoolsDelete++
	case PoolReplace:
		g.PoolsCreate++
		g.PoolsDelete++
	}
}

func load(snap source.Snapshot, cat *presets.Catalog, opts Options) (*side, error) {
	if snap.Tree == nil {
		return nil, fmt.Errorf("no files")
	}
	loadOpts := opts.Load
	loadOpts.PathPrefix = snap.Path
	set, err := workspaces.Load(snap.Tree, ".", loadOpts)
	if err != nil {
		return nil, err
	}
	workspaces.Check(set, cat, opts.Check)
	s := &side{snap: snap, set: set, byKey: map[string]*workspaces.Workspace{}, valid: map[string]bool{},
		rendered: map[string]*render.Result{}, errs: map[string]error{}}
	for _, ws := range set.Workspaces {
		if ws.Metadata.Name != "" {
			s.byKey[ws.Key()] = ws
		}
	}
	for _, ws := range set.Valid() {
		s.valid[ws.Key()] = true
	}
	return s, nil
}

// companionsOf lists the companions a workspace of this side references.
func (s *side) companionsOf(ws *workspaces.Workspace) []*workspaces.Companion {
	return s.set.CompanionsOf(ws)
}

// untouched names the workspaces valid on both sides whose render input hashes (and files) are
// equal: their objects are equal too, so neither side needs to render them. A plan of 1,000
// workspaces with one changed renders two, cache or no cache.
func untouched(b, h *side, r *render.Renderer) map[string]bool {
	same := map[string]bool{}
	for key, cur := range h.byKey {
		old := b.byKey[key]
		if old == nil || !b.valid[key] || !h.valid[key] || old.Source.Path != cur.Source.Path {
			continue
		}
		hb, errB := r.Hash(old, b.companionsOf(old))
		hh, errH := r.Hash(cur, h.companionsOf(cur))
		if errB == nil && errH == nil && hb == hh {
			same[key] = true
		}
	}
	return same
}

// render renders the valid workspaces not in skip, in parallel. The source commit is left out of
// the objects: it differs between base and head for every object and says nothing about the change.
func (s *side) render(r *render.Renderer, skip map[string]bool) {
	type out struct {
		key string
		res *render.Result
		err error
	}
	var todo []*workspaces.Workspace
	for _, ws := range s.set.Workspaces {
		if s.valid[ws.Key()] && s.byKey[ws.Key()] == ws && !skip[ws.Key()] {
			todo = append(todo, ws)
		}
	}
	results := make([]out, len(todo))
	// As many at a time as there are cores, as the sync renders: a render is CPU-bound.
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, ws := range todo {
		g.Go(func() error {
			res, err := r.Render(ws, s.set.CompanionsOf(ws), render.Source{Path: ws.Source.Path})
			results[i] = out{ws.Key(), res, err}
			return nil
		})
	}
	_ = g.Wait() // errors are per workspace, in results
	for _, o := range results {
		if o.err != nil {
			s.errs[o.key] = o.err
			continue
		}
		s.rendered[o.key] = o.res
	}
}

func compare(key string, b, h *side, declared bool, cat *presets.Catalog, opts Options) *Workspace {
	old, cur := b.byKey[key], h.byKey[key]
	w := &Workspace{Key: key}
	if old != nil && b.valid[key] {
		w.Nodes.Before = nodesOf(old, b.companionsOf(old), cat)
	}
	switch {
	case cur != nil:
		w.Path, w.Line = cur.Source.Path, cur.Source.Line
	case old != nil:
		w.Path, w.Line = old.Source.Path, old.Source.Line
	}

	if !declared {
		w.Action = Removed
		w.Objects = objectDiffs(b.rendered[key], nil, opts.Context)
		w.Nodes.Pool = poolAction(w.Nodes)
		return w
	}
	if cur == nil || !h.valid[key] || h.errs[key] != nil {
		w.Action = Invalid
		w.Problems = h.set.ProblemsFor(key).Errors()
		if err := h.errs[key]; err != nil {
			w.RenderError = err.Error()
		}
		if w.Path == "" && len(w.Problems) > 0 {
			w.Path, w.Line = w.Problems[0].Path, w.Problems[0].Line
		}
		// Its nodes stay as they are: nothing is applied for it.
		w.Nodes.After = w.Nodes.Before
		return w
	}
	w.Nodes.After = nodesOf(cur, h.companionsOf(cur), cat)
	w.Nodes.Pool = poolAction(w.Nodes)
	if old == nil {
		w.Action = Added
		w.Objects = objectDiffs(nil, h.rendered[key], opts.Context)
		return w
	}
	w.Changes = workspaces.Diff(old, cur)
	w.Recreate = workspaces.HasImmutable(w.Changes)
	if !b.valid[key] {
		// Base was invalid: the sync applied nothing of it, so what runs is an older version or
		// nothing, and this plan cannot say the change recreates it.
		w.BaseProblems = b.set.ProblemsFor(key).Errors()
		w.Recreate = false
		for i := range w.Changes {
			w.Changes[i].Immutable = false
		}
	}
	before, after := b.rendered[key], h.rendered[key]
	if before == nil || after == nil || before.Hash != after.Hash || old.Source.Path != cur.Source.Path {
		w.Objects = objectDiffs(before, after, opts.Context)
	}
	if len(w.Changes) > 0 || len(w.Objects) > 0 || w.Nodes.Changed() {
		w.Action = Changed
	} else {
		w.Action = Unchanged
	}
	return w
}

// objectDiffs compares two renders of a workspace object by object, in head's apply order, removed
// objects last.
func objectDiffs(before, after *render.Result, context int) []Object {
	type ref struct{ kind, ns, name string }
	refOf := func(o *unstructured.Unstructured) ref { return ref{o.GetKind(), o.GetNamespace(), o.GetName()} }
	old := map[ref]*unstructured.Unstructured{}
	var oldOrder []ref
	if before != nil {
		for _, o := range before.Objects {
			old[refOf(o)] = o
			oldOrder = append(oldOrder, refOf(o))
		}
	}
	var out []Object
	seen := map[ref]bool{}
	name := func(r ref) string {
		if r.ns == "" {
			return strings.ToLower(r.kind) + "/" + r.name + ".yaml"
		}
		return strings.ToLower(r.kind) + "/" + r.ns + "/" + r.name + ".yaml"
	}
	if after != nil {
		for _, o := range after.Objects {
			r := refOf(o)
			seen[r] = true
			a := yamlOf(old[r])
			bY := yamlOf(o)
			act := Changed
			if old[r] == nil {
				act = Added
			}
			d := UnifiedDiff("a/"+name(r), "b/"+name(r), a, bY, context)
			if d == "" {
				continue
			}
			out = append(out, Object{Kind: r.kind, Namespace: r.ns, Name: r.name, Action: act, Diff: d})
		}
	}
	for _, r := range oldOrder {
		if seen[r] {
			continue
		}
		d := UnifiedDiff("a/"+name(r), "b/"+name(r), yamlOf(old[r]), "", context)
		out = append(out, Object{Kind: r.kind, Namespace: r.ns, Name: r.name, Action: Removed, Diff: d})
	}
	return out
}

func yamlOf(o *unstructured.Unstructured) string {
	if o == nil {
		return ""
	}
	b, err := render.MarshalObjects([]*unstructured.Unstructured{o})
	if err != nil {
		return fmt.Sprintf("# cannot marshal: %v\n", err)
	}
	return strings.TrimPrefix(string(b), "---\n")
}

// nodesOf is what a workspace asks of its nodes, as the provisioner is asked for them.
func nodesOf(ws *workspaces.Workspace, companions []*workspaces.Companion, cat *presets.Catalog) *Nodes {
	n := &Nodes{InstanceType: ws.InstanceType(), Count: render.NodeCount(cat, ws, companions)}
	if sku, ok := cat.SKU(n.InstanceType); ok {
		n.InstanceType = sku.Name
		n.GPUsPerNode = sku.GPUCount
		n.GPUModel = sku.GPUModel
		n.GPUMemoryGiB = sku.GPUMemoryGiB
	}
	if n.GPUsPerNode == 0 {
		if _, err := cat.Resolve(ws.PresetName()); err == nil {
			n.GPUsPerNode = 1 // presets have no GPU count of their own since Kaito v0.11.0
		}
	}
	return n
}

// poolAction is what happens to the workspace's node pool. Bring-your-own nodes have none.
func poolAction(d NodeDelta) PoolAction {
	hadPool := d.Before != nil && d.Before.InstanceType != ""
	hasPool := d.After != nil && d.After.InstanceType != ""
	switch {
	case !hadPool && hasPool:
		return PoolCreate
	case hadPool && !hasPool:
		return PoolDelete
	case !hadPool && !hasPool:
		return PoolNone
	case d.Before.InstanceType != d.After.InstanceType:
		return PoolReplace
	case d.Before.Count != d.After.Count:
		return PoolScale
	}
	return PoolNone
}
