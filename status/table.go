package status

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Columns are PrinterColumns after NAMESPACE, as `kubectl get workspace -A` prints them: a status
// branch spans namespaces. The dashboard on the status branch uses them, so it reads as
// `kaito-sync status` and kubectl do.
var Columns = append([]string{"NAMESPACE"}, PrinterColumns...)

// Row is the workspace's line under Columns, its AGE counted to now.
func (w *WorkspaceStatus) Row(now time.Time) []string {
	return append([]string{w.Namespace}, w.PrinterRow(now, false)...)
}

// PrinterColumns are the printer columns of Kaito v0.12.0's v1beta1 Workspace (the
// +kubebuilder:printcolumn markers of api/v1beta1/workspace_types.go), after NAME, as
// `kubectl get workspace` prints them. Every workspace gets every column; one that does not apply
// (JOBSTARTED of an inference workspace, INFERENCEREADY of a tuning one) is empty, as in kubectl.
var PrinterColumns = []string{"NAME", "INSTANCE", "RESOURCEREADY", "INFERENCEREADY", "JOBSTARTED", "WORKSPACESUCCEEDED", "TARGETNODECOUNT", "STATE", "AGE"}

// WideColumns are what -o wide adds after PrinterColumns: what Kaito's object has elsewhere
// (mode, preset, worker nodes) and what kaito-sync adds (the endpoint, why the workspace is not
// ready, the file declaring it).
var WideColumns = []string{"MODE", "PRESET", "NODES", "ENDPOINT", "REASON", "SOURCE"}

// PrinterRow is the workspace's cells under PrinterColumns, and WideColumns too when wide, its
// AGE counted to now. A cell kubectl would leave empty is "".
func (w *WorkspaceStatus) PrinterRow(now time.Time, wide bool) []string {
	row := []string{
		w.Name, w.InstanceType,
		string(w.ConditionStatus(ResourceReady)),
		string(w.ConditionStatus(InferenceReady)),
		string(w.ConditionStatus(JobStarted)),
		string(w.succeeded()),
		"", w.KaitoState(), Age(w.Created, now),
	}
	if w.NodeCount > 0 {
		row[6] = strconv.Itoa(w.NodeCount)
	}
	if !wide {
		return row
	}
	reason := ""
	if c := w.Condition(WorkspaceSucceeded); c != nil && c.Status != True {
		reason = c.Reason
	} else if c := w.Condition(WorkspaceReady); c != nil && c.Status != True {
		reason = c.Reason
	}
	if w.Stale != "" {
		reason = "Stale"
	}
	src := w.Source.Path
	if src != "" && w.Source.Line > 0 {
		src += ":" + strconv.Itoa(w.Source.Line)
	}
	return append(row, w.Mode, w.Preset, strings.Join(w.Nodes, ","), w.endpoint(), reason, src)
}

// succeeded is WorkspaceSucceeded's status, or WorkspaceReady's in statuses written before both
// were.
func (w *WorkspaceStatus) succeeded() ConditionStatus {
	if s := w.ConditionStatus(WorkspaceSucceeded); s != "" {
		return s
	}
	return w.ConditionStatus(WorkspaceReady)
}

func (w *WorkspaceStatus) endpoint() string {
	e := w.Endpoint
	switch {
	case e == nil:
		return ""
	case e.External != "":
		return e.External
	case e.Port > 0:
		return fmt.Sprintf("%s:%d", e.Service, e.Port)
	}
	return e.Service
}

// Kaito's workspace states (status.state of its Workspace).
const (
	KaitoPending   = "Pending"
	KaitoReady     = "Ready"
	KaitoNotReady  = "NotReady"
	KaitoRunning   = "Running"
	KaitoSucceeded = "Succeeded"
	KaitoFailed    = "Failed"
)

// KaitoState is the STATE column, in Kaito's words: Ready, NotReady or Pending for inference;
// Succeeded, Failed, Running or Pending for tuning. Kaito says NotReady once an inference
// workload that ran stops being ready; kaito-sync keeps no such history, so it says NotReady when
// the workspace needs a person (Failing) and Pending while it only needs time. "" when there is
// no cluster to ask (hydrate mode), as Kaito's state is empty before its first reconcile.
func (w *WorkspaceStatus) KaitoState() string {
	s := w.succeeded()
	if w.Stale == "" && s != True && s != False {
		return ""
	}
	failing := w.Failing()
	if c := w.Condition(WorkspaceSucceeded); c != nil && c.Status == False && !progressReasons[c.Reason] {
		failing = true
	}
	if w.Mode == "tuning" {
		switch {
		case s == True:
			return KaitoSucceeded
		case failing || w.ConditionStatus(JobSucceeded) == False:
			return KaitoFailed
		case w.ConditionStatus(JobStarted) == True:
			return KaitoRunning
		}
		return KaitoPending
	}
	switch {
	case s == True:
		return KaitoReady
	case failing:
		return KaitoNotReady
	}
	return KaitoPending
}

// Age is kubectl's AGE: "45s", "5m", "3h", "12d".
func Age(since, now time.Time) string {
	if since.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(since))
}
