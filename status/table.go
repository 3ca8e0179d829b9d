package status

import (
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Columns are those of `kubectl get workspace` in Kaito's docs, after NAMESPACE (as with -A):
// a status branch spans namespaces.
var Columns = []string{"NAMESPACE", "NAME", "INSTANCE", "RESOURCEREADY", "INFERENCEREADY", "WORKSPACEREADY", "AGE"}

// Row is the workspace's line of the table, its AGE counted to now.
func (w *WorkspaceStatus) Row(now time.Time) []string {
	return []string{
		w.Namespace, w.Name, dash(w.InstanceType),
		dash(string(w.ConditionStatus(ResourceReady))),
		dash(string(w.ConditionStatus(InferenceReady))), // tuning has none, as in kubectl
		dash(string(w.ConditionStatus(WorkspaceReady))),
		Age(w.Created, now),
	}
}

// Age is kubectl's AGE: "45s", "5m", "3h", "12d".
func Age(since, now time.Time) string {
	if since.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(since))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
