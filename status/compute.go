package status

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// Input is what one computation of the statuses looks at.
type Input struct {
	// Result is the last sync's outcome; required.
	Result *ksync.Result
	// Cluster is read for object health, pods and the Service; nil in hydrate mode.
	Cluster Cluster
	// Previous is the last report published: lastTransitionTime, Created and statuses of
	// workspaces whose file broke are kept from it. May be nil.
	Previous *Report
	// Now stamps conditions that change in this computation.
	Now time.Time
}

// Compute returns the status of every workspace the sync saw, plus those carried over because
// their file did not load. It only reads: the sync result, the previous report and the cluster.
func Compute(in Input) *Report {
	res := in.Result
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	// Seconds in UTC, as Kubernetes writes times: the same instant always serialises the same.
	in.Now = in.Now.UTC().Truncate(time.Second)
	rep := &Report{SourceCommit: res.Commit, PruneBlocked: res.PruneBlocked, Workspaces: []*WorkspaceStatus{}}
	set := res.Set
	if set == nil {
		set = &workspaces.Set{}
	}
	changes := changesByWorkspace(res.Changes)
	valid := map[string]bool{}
	for _, ws := range set.Valid() {
		valid[ws.Key()] = true
	}
	seen := map[string]bool{}
	companions := make(map[string]*workspaces.Companion, len(set.Companions))
	for _, c := range set.Companions {
		companions[c.Key()] = c
	}
	for _, ws := range set.Workspaces {
		if ws.Metadata.Name == "" || seen[ws.Key()] {
			continue
		}
		seen[ws.Key()] = true
		var comps []*workspaces.Companion
		for _, ref := range workspaces.References(ws) {
			if c := companions[ref]; c != nil {
				comps = append(comps, c)
			}
		}
		st := describe(ws, comps, res.Commit)
		st.Problems = problemsOf(set, ws)
		c := computer{in: in, st: st, changes: changes[ws.Key()]}
		switch {
		case !valid[ws.Key()]:
			c.invalid(ReasonValidationFailed, firstError(st.Problems))
		case res.RenderErrors[ws.Key()] != nil:
			c.invalid(ReasonRenderFailed, res.RenderErrors[ws.Key()].Error())
		default:
			c.applied(res.Nodes)
		}
		rep.Workspaces = append(rep.Workspaces, st)
	}
	// Workspaces named only by problems (an unsupported apiVersion): shown, so they are not lost.
	for _, p := range set.Problems.Errors() {
		if p.Workspace == "" || strings.Count(p.Workspace, "/") != 1 || seen[p.Workspace] {
			continue
		}
		seen[p.Workspace] = true
		ns, name, _ := strings.Cut(p.Workspace, "/")
		st := &WorkspaceStatus{Namespace: ns, Name: name, Kaito: presets.KaitoVersion, Source: Source{Path: p.Path, Line: p.Line, Commit: res.Commit}, Problems: set.ProblemsFor(p.Workspace)}
		c := computer{in: in, st: st}
		c.invalid(ReasonValidationFailed, firstError(st.Problems))
		rep.Workspaces = append(rep.Workspaces, st)
	}
	// Problems no listed workspace owns: files that do not parse, companions, foreign kinds.
	for _, p := range set.Problems {
		if !seen[p.Workspace] {
			rep.Problems = append(rep.Problems, p)
		}
	}
	rep.Problems.Sort()
	rep.Workspaces = append(rep.Workspaces, carriedOver(in.Previous, res, set, seen)...)
	for _, st := range rep.Workspaces {
		keepHistory(st, in.Previous.Workspace(st.Key()), in.Now)
	}
	slices.SortFunc(rep.Workspaces, func(a, b *WorkspaceStatus) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	rep.UpdatedAt = in.Now
	if in.Previous != nil && Equal(rep, in.Previous) {
		rep.UpdatedAt = in.Previous.UpdatedAt
	}
	return rep
}

// describe is what the file says about a workspace.
func describe(ws *workspaces.Workspace, companions []*workspaces.Companion, commit string) *WorkspaceStatus {
	st := &WorkspaceStatus{
		Namespace:    ws.Metadata.Namespace,
		Name:         ws.Metadata.Name,
		Kaito:        presets.KaitoVersion,
		Preset:       ws.PresetName(),
		InstanceType: ws.InstanceType(),
		NodeCount:    render.NodeCount(presets.Default(), ws, companions),
		Source:       Source{Path: ws.Source.Path, Line: ws.Source.Line, Commit: commit},
	}
	switch {
	case ws.Tuning != nil:
		st.Mode = "tuning"
	case ws.Inference != nil:
		st.Mode = "inference"
	}
	return st
}

// problemsOf are the problems of a workspace and of the companions it references.
func problemsOf(set *workspaces.Set, ws *workspaces.Workspace) workspaces.Problems {
	ps := set.ProblemsFor(ws.Key())
	for _, ref := range workspaces.References(ws) {
		ps = append(ps, set.ProblemsFor(ref)...)
	}
	ps.Sort()
	return ps
}

func firstError(ps workspaces.Problems) string {
	if errs := ps.Errors(); len(errs) > 0 {
		return errs[0].String()
	}
	return "the workspace has errors"
}

func changesByWorkspace(cs apply.ChangeSet) map[string][]apply.Change {
	out := map[string][]apply.Change{}
	for _, c := range cs.Entries {
		out[c.Workspace] = append(out[c.Workspace], c)
	}
	return out
}

// carriedOver keeps showing the workspaces whose objects the sync left running although no file
// that loaded declares them: those of a file that did not load, and those a refused prune kept
// (res.PruneKept: a mass prune, an emptied folder). Each keeps its previous status when there is
// one, and says why it is shown; without one (a first sync, a restart without the branch) it is
// shown by its name, with the errors of the files that did not load.
func carriedOver(prev *Report, res *ksync.Result, set *workspaces.Set, seen map[string]bool) []*WorkspaceStatus {
	broken := map[string]bool{}
	for _, f := range set.Broken {
		broken[f] = true
	}
	var out []*WorkspaceStatus
	carry := func(st *WorkspaceStatus, stale string) {
		seen[st.Key()] = true
		st.Stale = stale
		out = append(out, st)
	}
	brokenProblems := func(file string) workspaces.Problems {
		var ps workspaces.Problems
		for _, p := range set.Problems {
			if p.Severity == workspaces.Error && ((file == "" && broken[p.Path]) || (file != "" && p.Path == file)) {
				ps = append(ps, p)
			}
		}
		return ps
	}
	if prev != nil {
		for _, old := range prev.Workspaces {
			if seen[old.Key()] || !broken[old.Source.Path] {
				continue
			}
			st := *old
			st.Problems = brokenProblems(old.Source.Path)
			carry(&st, "its file "+old.Source.Path+" did not load; this is its last known status and its objects are left running")
		}
	}
	refused := "Git no longer declares it and the prune was refused: its objects are left running"
	if len(set.Broken) > 0 {
		refused = "no file that loaded declares it; its file may be one that did not load (" + strings.Join(set.Broken, ", ") + "): its objects are left running"
	}
	for _, key := range res.PruneKept {
		if seen[key] || strings.Count(key, "/") != 1 {
			continue
		}
		if old := prev.Workspace(key); old != nil {
			st := *old
			st.Problems = brokenProblems("")
			carry(&st, refused+"; this is its last known status")
			continue
		}
		ns, name, _ := strings.Cut(key, "/")
		st := &WorkspaceStatus{Namespace: ns, Name: name, Kaito: presets.KaitoVersion, Source: Source{Commit: res.Commit}, Problems: brokenProblems("")}
		if len(set.Broken) == 1 {
			st.Source.Path = set.Broken[0]
		}
		reason, why := ReasonPruneRefused, refused
		if len(set.Broken) > 0 {
			reason = ReasonSourceBroken
		}
		c := computer{in: Input{Result: res}, st: st}
		c.set(ResourceReady, Unknown, reason, why)
		c.set(InferenceReady, Unknown, reason, why)
		c.ready(False, reason, why)
		carry(st, why)
	}
	return out
}

// keepHistory carries Created and each condition's lastTransitionTime over from the previous
// status while the condition's status is unchanged.
func keepHistory(st, prev *WorkspaceStatus, now time.Time) {
	st.Created = now
	if prev != nil && !prev.Created.IsZero() {
		st.Created = prev.Created
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		c.LastTransitionTime = now
		if prev == nil {
			continue
		}
		if old := prev.Condition(c.Type); old != nil && old.Status == c.Status && !old.LastTransitionTime.IsZero() {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
}
