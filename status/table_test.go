package status

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/workspaces"
)

// makeConds builds conditions from "Type=Status/Reason".
func makeConds(specs ...string) []Condition {
	var out []Condition
	for _, s := range specs {
		t, rest, _ := strings.Cut(s, "=")
		st, reason, _ := strings.Cut(rest, "/")
		out = append(out, Condition{Type: t, Status: ConditionStatus(st), Reason: reason})
	}
	return out
}

func TestKaitoState(t *testing.T) {
	tests := []struct {
		name  string
		ws    WorkspaceStatus
		state string
	}{
		{"inference ready", WorkspaceStatus{Mode: "inference", Conditions: makeConds("InferenceReady=True/WorkloadReady", "WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady")}, KaitoReady},
		{"inference starting", WorkspaceStatus{Mode: "inference", Conditions: makeConds("InferenceReady=False/WorkloadNotReady", "WorkspaceSucceeded=False/WorkloadNotReady")}, KaitoPending},
		{"inference failing", WorkspaceStatus{Mode: "inference", Conditions: makeConds("ResourceReady=False/QuotaExceeded", "WorkspaceSucceeded=False/QuotaExceeded")}, KaitoNotReady},
		{"invalid inference", WorkspaceStatus{Mode: "inference", Conditions: makeConds("WorkspaceSucceeded=False/ValidationFailed"),
			Problems: workspaces.Problems{{Severity: workspaces.Error, Message: "bad"}}}, KaitoNotReady},
		{"hydrate mode: no cluster to ask", WorkspaceStatus{Mode: "inference", Conditions: makeConds("WorkspaceSucceeded=Unknown/NoCluster")}, ""},
		{"an old status with WorkspaceReady only", WorkspaceStatus{Mode: "inference", Conditions: makeConds("WorkspaceReady=True/WorkspaceReady")}, KaitoReady},
		{"tuning succeeded", WorkspaceStatus{Mode: "tuning", Conditions: makeConds("JobStarted=True/JobStarted", "JobSucceeded=True/JobSucceeded", "WorkspaceSucceeded=True/WorkspaceReady")}, KaitoSucceeded},
		{"tuning running", WorkspaceStatus{Mode: "tuning", Conditions: makeConds("JobStarted=True/JobStarted", "JobSucceeded=Unknown/JobInProgress", "WorkspaceSucceeded=False/JobInProgress")}, KaitoRunning},
		{"tuning not started", WorkspaceStatus{Mode: "tuning", Conditions: makeConds("JobStarted=False/JobNotStarted", "WorkspaceSucceeded=False/JobNotStarted")}, KaitoPending},
		{"tuning failed", WorkspaceStatus{Mode: "tuning", Conditions: makeConds("JobStarted=True/JobStarted", "JobSucceeded=False/JobFailed", "WorkspaceSucceeded=False/JobFailed")}, KaitoFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is.New(t).Equal(tt.ws.KaitoState(), tt.state)
		})
	}
}

func TestPrinterRow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-3 * time.Hour)
	inference := &WorkspaceStatus{Namespace: "team-a", Name: "phi-3", Mode: "inference", Preset: "phi-3-mini-4k-instruct",
		InstanceType: "Standard_NC24ads_A100_v4", NodeCount: 1, Nodes: []string{"aks-gpu-0"}, Created: created,
		Endpoint: &Endpoint{Service: "phi-3", Port: 80}, Source: Source{Path: "ws/phi-3.yaml", Line: 4},
		Conditions: makeConds("ResourceReady=True/NodesReady", "InferenceReady=True/WorkloadReady", "WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady")}
	tuning := &WorkspaceStatus{Namespace: "team-a", Name: "tune", Mode: "tuning", Preset: "phi-3-mini-4k-instruct",
		InstanceType: "Standard_NC24ads_A100_v4", Created: created, Source: Source{Path: "ws/tune.yaml"},
		Conditions: makeConds("ResourceReady=True/NodesReady", "JobStarted=True/JobStarted", "JobSucceeded=Unknown/JobInProgress", "WorkspaceReady=False/JobInProgress", "WorkspaceSucceeded=False/JobInProgress")}
	tests := []struct {
		name string
		ws   *WorkspaceStatus
		wide bool
		want []string
	}{
		{"inference: no JOBSTARTED", inference, false, []string{"phi-3", "Standard_NC24ads_A100_v4", "True", "True", "", "True", "1", "Ready", "3h"}},
		{"tuning: no INFERENCEREADY", tuning, false, []string{"tune", "Standard_NC24ads_A100_v4", "True", "", "True", "False", "", "Running", "3h"}},
		{"inference, wide", inference, true, []string{"phi-3", "Standard_NC24ads_A100_v4", "True", "True", "", "True", "1", "Ready", "3h",
			"inference", "phi-3-mini-4k-instruct", "aks-gpu-0", "phi-3:80", "", "ws/phi-3.yaml:4"}},
		{"tuning, wide: why it is not done", tuning, true, []string{"tune", "Standard_NC24ads_A100_v4", "True", "", "True", "False", "", "Running", "3h",
			"tuning", "phi-3-mini-4k-instruct", "", "", "JobInProgress", "ws/tune.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			row := tt.ws.PrinterRow(now, tt.wide)
			is.Equal(row, tt.want)
			if tt.wide {
				is.Equal(len(row), len(PrinterColumns)+len(WideColumns))
			} else {
				is.Equal(len(row), len(PrinterColumns))
			}
		})
	}
}

// Kaito v0.12.0's printer columns, in order (api/v1beta1/workspace_types.go): a change of them is
// a change of release.
func TestPrinterColumnsAreKaitos(t *testing.T) {
	is := is.New(t)
	is.Equal(PrinterColumns[1:], []string{"INSTANCE", "RESOURCEREADY", "INFERENCEREADY", "JOBSTARTED", "WORKSPACESUCCEEDED", "TARGETNODECOUNT", "STATE", "AGE"})
}
