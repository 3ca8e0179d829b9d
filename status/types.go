package status

import (
	"time"

	"github.com/kaito-sync/kaito-sync/workspaces"
)

// Condition types, as Kaito names them. WorkspaceReady is the column Kaito's docs show;
// WorkspaceSucceeded is the newer name of the same condition, so both are written.
const (
	ResourceReady      = "ResourceReady"
	InferenceReady     = "InferenceReady"
	JobStarted         = "JobStarted"
	JobSucceeded       = "JobSucceeded"
	WorkspaceReady     = "WorkspaceReady"
	WorkspaceSucceeded = "WorkspaceSucceeded"
)

// ConditionStatus is True, False or Unknown, as in Kubernetes.
type ConditionStatus string

const (
	True    ConditionStatus = "True"
	False   ConditionStatus = "False"
	Unknown ConditionStatus = "Unknown"
)

// Reasons kaito-sync sets itself; others come from the provisioner (QuotaExceeded, ...) or name
// what kstatus saw.
const (
	ReasonNoCluster        = "NoCluster"
	ReasonValidationFailed = "ValidationFailed"
	ReasonRenderFailed     = "RenderFailed"
	ReasonApplyFailed      = "ApplyFailed"
	ReasonNotApplied       = "NotApplied"
	ReasonSourceBroken     = "SourceFileBroken"
	// ReasonPruneRefused: Git no longer declares the workspace, and the sync refused to prune it.
	ReasonPruneRefused = "PruneRefused"
)

// Health values beyond kstatus's (Current, InProgress, Failed, Terminating, NotFound, Unknown).
const (
	// HealthRendered is an object written to a folder or branch (hydrate mode): no cluster to ask.
	HealthRendered = "Rendered"
	HealthCurrent  = "Current"
	HealthFailed   = "Failed"
	HealthNotFound = "NotFound"
)

// Condition is one Kaito-style condition. LastTransitionTime moves only when Status changes.
type Condition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	Reason             string          `json:"reason"`
	Message            string          `json:"message,omitempty"`
	LastTransitionTime time.Time       `json:"lastTransitionTime"`
}

// Source is where a workspace was declared and the source commit its status reflects.
type Source struct {
	Path   string `json:"path"`
	Line   int    `json:"line,omitempty"`
	Commit string `json:"commit"`
}

// Endpoint is how to reach an inference workspace inside the cluster.
type Endpoint struct {
	Service   string `json:"service"`
	ClusterIP string `json:"clusterIP,omitempty"`
	Port      int64  `json:"port,omitempty"`
	// External is the load balancer's address, with kaito.sh/enablelb.
	External string `json:"external,omitempty"`
}

// Object is one object applied (or rendered) for a workspace, with its health.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Health is kstatus's verdict (Current, InProgress, Failed, NotFound, ...) or Rendered.
	Health  string `json:"health"`
	Message string `json:"message,omitempty"`
}

// WorkspaceStatus is everything known about one workspace.
type WorkspaceStatus struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Kaito is the Kaito release whose workload kaito-sync runs for the workspace (presets.KaitoVersion).
	Kaito string `json:"kaito"`
	// Mode is "inference" or "tuning" ("" when the file could not say).
	Mode         string `json:"mode,omitempty"`
	Preset       string `json:"preset,omitempty"`
	InstanceType string `json:"instanceType,omitempty"`
	// NodeCount is the number of nodes Kaito runs the workspace on (for a vLLM preset, its node
	// estimate, which replaces resource.count); Nodes are those it runs on.
	NodeCount  int         `json:"nodeCount"`
	Nodes      []string    `json:"nodes,omitempty"`
	Endpoint   *Endpoint   `json:"endpoint,omitempty"`
	Source     Source      `json:"source"`
	Conditions []Condition `json:"conditions"`
	Objects    []Object    `json:"objects,omitempty"`
	// Problems are the validation errors and warnings of the workspace and its companions.
	Problems workspaces.Problems `json:"problems,omitempty"`
	// Stale says why this status was carried over from an earlier sync (its file did not load).
	Stale string `json:"stale,omitempty"`
	// Created is when kaito-sync first saw the workspace (AGE counts from it).
	Created time.Time `json:"created"`
}

// Key is "namespace/name".
func (w *WorkspaceStatus) Key() string { return w.Namespace + "/" + w.Name }

// Condition returns the condition of type t, or nil.
func (w *WorkspaceStatus) Condition(t string) *Condition {
	for i := range w.Conditions {
		if w.Conditions[i].Type == t {
			return &w.Conditions[i]
		}
	}
	return nil
}

// ConditionStatus is the status of condition t, or "" when the workspace has none of that type.
func (w *WorkspaceStatus) ConditionStatus(t string) ConditionStatus {
	if c := w.Condition(t); c != nil {
		return c.Status
	}
	return ""
}

// Failing reports whether the workspace needs a person: invalid, failed, or blocked with a reason
// that is not mere progress.
func (w *WorkspaceStatus) Failing() bool {
	if w.Stale != "" || w.Problems.HasErrors() {
		return true
	}
	c := w.Condition(WorkspaceReady)
	if c == nil || c.Status != False {
		return false
	}
	return !progressReasons[c.Reason]
}

// Ready reports whether WorkspaceReady is True.
func (w *WorkspaceStatus) Ready() bool { return w.ConditionStatus(WorkspaceReady) == True }

// progressReasons are reasons for a False condition that mean "not yet", not "broken".
var progressReasons = map[string]bool{
	"Pending": true, "Provisioning": true, "WorkloadNotReady": true, "JobInProgress": true,
	"JobNotStarted": true, "NodesNotReady": true, "Terminating": true,
}

// Report is the status of every workspace of one sync root.
type Report struct {
	// SourceCommit is the last source commit synced.
	SourceCommit string `json:"sourceCommit"`
	// SyncedCommits are the source commits synced since the previous report was published, oldest
	// first; the writer names each in its commit so none is skipped silently.
	SyncedCommits []string `json:"-"`
	// UpdatedAt is when any status last changed; equal reports keep it, so they write equal files.
	UpdatedAt  time.Time          `json:"updatedAt"`
	Workspaces []*WorkspaceStatus `json:"workspaces"`
	// Problems are errors not tied to one workspace: a file that does not parse, an unknown kind.
	Problems workspaces.Problems `json:"problems,omitempty"`
	// PruneBlocked says why the last sync removed nothing it would have.
	PruneBlocked string `json:"pruneBlocked,omitempty"`
}

// Workspace returns the status of key ("namespace/name"), or nil.
func (r *Report) Workspace(key string) *WorkspaceStatus {
	if r == nil {
		return nil
	}
	for _, w := range r.Workspaces {
		if w.Key() == key {
			return w
		}
	}
	return nil
}

// States a person sees at a glance, from the conditions.
const (
	StateReady      = "Ready"
	StateInProgress = "InProgress"
	StateFailing    = "Failing"
	StateUnknown    = "Unknown"
)

// States lists every State, for metrics that must report zero as well.
var States = []string{StateReady, StateInProgress, StateFailing, StateUnknown}

// State sums the workspace up for a dashboard: Failing needs a person, InProgress needs time,
// Unknown has no cluster to ask (hydrate mode).
func (w *WorkspaceStatus) State() string {
	switch {
	case w.Failing():
		return StateFailing
	case w.Ready():
		return StateReady
	case w.ConditionStatus(WorkspaceReady) == False:
		return StateInProgress
	}
	return StateUnknown
}

// Counts returns how many workspaces are in each State.
func (r *Report) Counts() map[string]int {
	out := map[string]int{}
	for _, w := range r.Workspaces {
		out[w.State()]++
	}
	return out
}
