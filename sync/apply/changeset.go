// Package apply makes the cluster hold what kaito-sync rendered: server-side apply of the allowed
// kinds with field manager "kaito-sync", no write when nothing changed, recreate when a change
// cannot be made in place, prune of what it owns and Git no longer declares, and drift repair
// driven by watches.
package apply

import (
	"fmt"
	"strings"
)

// Action is what happened to one object, in the past tense.
type Action string

const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Recreated  Action = "recreated"
	Deleted    Action = "deleted"
	Failed     Action = "failed"
	// Skipped objects were not touched on purpose (a dry run, a refused prune).
	Skipped Action = "skipped"
)

// ObjectRef names an object: Kind/namespace/name.
type ObjectRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Change is the outcome for one object.
type Change struct {
	Object ObjectRef `json:"object"`
	// Workspace is "namespace/name" of the workspace the object belongs to.
	Workspace string `json:"workspace,omitempty"`
	Action    Action `json:"action"`
	// Reason explains recreates, skips and failures.
	Reason string `json:"reason,omitempty"`
	Err    error  `json:"-"`
}

func (c Change) String() string {
	s := c.Object.String() + " " + string(c.Action)
	if c.Err != nil {
		s += ": " + c.Err.Error()
	} else if c.Reason != "" {
		s += " (" + c.Reason + ")"
	}
	return s
}

// ChangeSet is the outcome of one apply or prune.
type ChangeSet struct {
	Entries []Change `json:"entries"`
}

func (cs *ChangeSet) Add(c ...Change) { cs.Entries = append(cs.Entries, c...) }

// Append adds another set's entries.
func (cs *ChangeSet) Append(other ChangeSet) { cs.Entries = append(cs.Entries, other.Entries...) }

// Failed reports whether any object failed.
func (cs ChangeSet) Failed() bool {
	for _, c := range cs.Entries {
		if c.Action == Failed {
			return true
		}
	}
	return false
}

// Count returns how many entries have the action.
func (cs ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs.Entries {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Summary is "2 created, 1 configured, 10 unchanged".
func (cs ChangeSet) Summary() string {
	var parts []string
	for _, a := range []Action{Created, Configured, Recreated, Unchanged, Deleted, Skipped, Failed} {
		if n := cs.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}
