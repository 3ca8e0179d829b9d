package apply

import "github.com/kaito-sync/kaito-sync/workspaces/ownership"

// appliedWorkspace is what ApplyAll applied cleanly for one workspace: its Revision and, per
// object, the hash the live object was left with.
type appliedWorkspace struct {
	revision string
	refs     []ObjectRef
	hashes   []string
}

// unchanged reports a workspace ApplyAll may skip: the Revision it applied last, every object it
// applied then still in the watch cache with the same hash and not being deleted, and the same
// objects asked for. That is what preparing and hashing each object would conclude, without the
// copies and the JSON encoding: on a push to a fleet of 1,000, those were most of a sync.
func (m *Manager) unchanged(ws Workspace) bool {
	if ws.Revision == "" || m.opts.DryRun {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	last, ok := m.applied[ws.Key]
	if !ok || last.revision != ws.Revision || len(last.refs) != len(ws.Objects) {
		return false
	}
	for i, ref := range last.refs {
		if _, known := m.desired[ref]; !known { // forgotten by a delete or a failed recreate
			return false
		}
		gvk, ok := gvkOfKind(ref.Kind)
		if !ok {
			return false
		}
		live, ok := m.live(gvk, ref.Namespace, ref.Name)
		if !ok || live.DeletionTimestamp != nil || live.Annotations[ownership.AnnotationHash] != last.hashes[i] {
			return false
		}
	}
	return true
}

// unchangedChanges reports every object of a skipped workspace as unchanged.
func (m *Manager) unchangedChanges(ws Workspace) ChangeSet {
	m.mu.Lock()
	last := m.applied[ws.Key]
	m.mu.Unlock()
	var cs ChangeSet
	for _, ref := range last.refs {
		cs.Add(Change{Object: ref, Workspace: ws.Key, Action: Unchanged})
	}
	return cs
}

// recordApplied remembers a workspace whose every object applied (or was unchanged), or forgets
// it when any did not.
func (m *Manager) recordApplied(ws Workspace, cs ChangeSet) {
	if ws.Revision == "" || m.opts.DryRun {
		return
	}
	last := appliedWorkspace{revision: ws.Revision}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs.Entries {
		want := m.desired[c.Object]
		if (c.Action != Created && c.Action != Configured && c.Action != Unchanged && c.Action != Recreated) || want == nil {
			delete(m.applied, ws.Key)
			return
		}
		last.refs = append(last.refs, c.Object)
		last.hashes = append(last.hashes, want.GetAnnotations()[ownership.AnnotationHash])
	}
	if len(last.refs) != len(ws.Objects) {
		delete(m.applied, ws.Key)
		return
	}
	m.applied[ws.Key] = last
}
