package branch

import (
	"time"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func cond(t string, s status.ConditionStatus, reason, msg string, at time.Time) status.Condition {
	return status.Condition{Type: t, Status: s, Reason: reason, Message: msg, LastTransitionTime: at}
}

// report is a dashboard's worth of workspaces: one ready, one waiting for quota, one invalid,
// one tuning job, and an error in a file no workspace could be read from.
func report() *status.Report {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	ready := []status.Condition{
		cond(status.ResourceReady, status.True, "NodesReady", "1 node(s): gpu-1", t0),
		cond(status.InferenceReady, status.True, "WorkloadReady", "All replicas scheduled as expected. Replicas: 1", t0.Add(time.Minute)),
		cond(status.WorkspaceReady, status.True, "WorkspaceReady", "serving at 10.96.0.42:80", t0.Add(time.Minute)),
		cond(status.WorkspaceSucceeded, status.True, "WorkspaceReady", "serving at 10.96.0.42:80", t0.Add(time.Minute)),
	}
	quota := []status.Condition{
		cond(status.ResourceReady, status.False, "QuotaExceeded", "Standard_NC24ads_A100_v4: 0 of 24 vCPUs left in eastus", t0),
		cond(status.InferenceReady, status.False, "WorkloadNotReady", "Ready: 0/1", t0),
		cond(status.WorkspaceReady, status.False, "QuotaExceeded", "Standard_NC24ads_A100_v4: 0 of 24 vCPUs left in eastus", t0),
		cond(status.WorkspaceSucceeded, status.False, "QuotaExceeded", "Standard_NC24ads_A100_v4: 0 of 24 vCPUs left in eastus", t0),
	}
	bad := workspaces.Problem{Severity: workspaces.Error, Path: "workspaces/bad.yaml", Line: 7, Col: 17, Workspace: "team-b/bad",
		Field: "resource.instanceType", Message: `unknown instance type "Standard_Nope" | see kaito-sync skus`}
	invalid := []status.Condition{
		cond(status.ResourceReady, status.Unknown, status.ReasonNotApplied, "nothing was applied: the workspace has errors", t0),
		cond(status.InferenceReady, status.Unknown, status.ReasonNotApplied, "nothing was applied: the workspace has errors", t0),
		cond(status.WorkspaceReady, status.False, status.ReasonValidationFailed, bad.String(), t0),
		cond(status.WorkspaceSucceeded, status.False, status.ReasonValidationFailed, bad.String(), t0),
	}
	tune := []status.Condition{
		cond(status.ResourceReady, status.True, "NodesReady", "1 node(s): gpu-2", t0),
		cond(status.JobStarted, status.True, "JobStarted", "started at 2025-06-01T12:00:00Z", t0),
		cond(status.JobSucceeded, status.Unknown, "JobInProgress", "Job in progress. success:0, active: 1, failed: 0", t0),
		cond(status.WorkspaceReady, status.False, "JobInProgress", "Job in progress. success:0, active: 1, failed: 0", t0),
		cond(status.WorkspaceSucceeded, status.False, "JobInProgress", "Job in progress. success:0, active: 1, failed: 0", t0),
	}
	return &status.Report{
		SourceCommit: commit,
		UpdatedAt:    t0.Add(90 * time.Minute),
		Workspaces: []*status.WorkspaceStatus{
			{Namespace: "team-a", Name: "phi-3", Kaito: "v0.12.0", Mode: "inference", Preset: "phi-3-mini-4k-instruct", InstanceType: "Standard_NC6s_v3",
				NodeCount: 1, Nodes: []string{"gpu-1"}, Endpoint: &status.Endpoint{Service: "phi-3", ClusterIP: "10.96.0.42", Port: 80},
				Source: status.Source{Path: "workspaces/phi-3.yaml", Line: 1, Commit: commit}, Conditions: ready, Created: t0,
				Objects: []status.Object{{Kind: "Service", Namespace: "team-a", Name: "phi-3", Health: "Current", Message: "Service is ready"},
					{Kind: "StatefulSet", Namespace: "team-a", Name: "phi-3", Health: "Current", Message: "All replicas scheduled as expected. Replicas: 1"}}},
			{Namespace: "team-a", Name: "falcon-40b", Kaito: "v0.12.0", Mode: "inference", Preset: "falcon-40b", InstanceType: "Standard_NC24ads_A100_v4",
				NodeCount: 2, Source: status.Source{Path: "workspaces/falcon.yaml", Line: 1, Commit: commit}, Conditions: quota, Created: t0.Add(30 * time.Minute)},
			{Namespace: "team-a", Name: "tune-phi-3", Kaito: "v0.12.0", Mode: "tuning", Preset: "phi-3-mini-128k-instruct", InstanceType: "Standard_NC24ads_A100_v4",
				NodeCount: 1, Nodes: []string{"gpu-2"}, Source: status.Source{Path: "workspaces/tune.yaml", Line: 3, Commit: commit}, Conditions: tune, Created: t0},
			{Namespace: "team-b", Name: "bad", Kaito: "v0.12.0", Mode: "inference", Preset: "phi-3-mini-4k-instruct", InstanceType: "Standard_Nope", NodeCount: 1,
				Source: status.Source{Path: "workspaces/bad.yaml", Line: 1, Commit: commit}, Conditions: invalid, Created: t0.Add(89 * time.Minute),
				Problems: workspaces.Problems{bad}},
		},
		Problems: workspaces.Problems{{Severity: workspaces.Error, Path: "workspaces/broken.yaml", Line: 4, Col: 1, Message: "yaml: line 4: mapping values are not allowed in this context"}},
	}
}
