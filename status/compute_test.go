package status

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/sync/apply"
)

// conds is a workspace's conditions as "Type=Status/Reason", in order.
func conds(w *WorkspaceStatus) []string {
	var out []string
	for _, c := range w.Conditions {
		out = append(out, c.Type+"="+string(c.Status)+"/"+c.Reason)
	}
	return out
}

func TestCompute(t *testing.T) {
	phiFiles := map[string]string{"ws/phi-3.yaml": phi3}
	tests := []struct {
		name    string
		files   map[string]string
		changes []apply.Change
		cluster Cluster // nil: hydrate mode
		nodes   map[string]provision.NodeState
		want    []string
		check   func(is *is.I, w *WorkspaceStatus)
	}{
		{
			name: "hydrate mode: rendered, Unknown for want of a cluster", files: phiFiles,
			changes: appliedObjects("phi-3", apply.Created),
			want: []string{"ResourceReady=Unknown/NoCluster", "InferenceReady=Unknown/NoCluster",
				"WorkspaceReady=Unknown/NoCluster", "WorkspaceSucceeded=Unknown/NoCluster"},
			check: func(is *is.I, w *WorkspaceStatus) {
				is.Equal(len(w.Objects), 2)
				is.Equal(w.Objects[0].Health, HealthRendered)
				is.Equal(w.Source.Path, "ws/phi-3.yaml")
				is.Equal(w.Source.Commit, "c1")
				is.Equal(w.InstanceType, "Standard_NC6s_v3")
				is.True(!w.Failing())
			},
		},
		{
			name: "invalid: ValidationFailed naming file and line", files: map[string]string{"ws/phi-3.yaml": strings.Replace(phi3, "Standard_NC6s_v3", "Standard_Nope", 1)},
			cluster: Objects{},
			want: []string{"ResourceReady=Unknown/NotApplied", "InferenceReady=Unknown/NotApplied",
				"WorkspaceReady=False/ValidationFailed", "WorkspaceSucceeded=False/ValidationFailed"},
			check: func(is *is.I, w *WorkspaceStatus) {
				is.True(strings.HasPrefix(w.Condition(WorkspaceReady).Message, "ws/phi-3.yaml:7:")) // file:line
				is.True(w.Problems.HasErrors())
				is.True(w.Failing())
			},
		},
		{
			name: "running: every condition True, nodes and endpoint", files: phiFiles,
			changes: appliedObjects("phi-3", apply.Unchanged),
			cluster: Objects{obj(t, svc), obj(t, stsReady), obj(t, podRunning)},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=True/WorkloadReady",
				"WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady"},
			check: func(is *is.I, w *WorkspaceStatus) {
				is.Equal(w.Nodes, []string{"gpu-1"})
				is.Equal(*w.Endpoint, Endpoint{Service: "phi-3", ClusterIP: "10.96.0.42", Port: 80})
				is.Equal(w.Condition(WorkspaceReady).Message, "serving at 10.96.0.42:80")
				is.True(w.Ready())
			},
		},
		{
			name: "no node matches: Unschedulable with the scheduler's words", files: phiFiles,
			changes: appliedObjects("phi-3", apply.Created),
			cluster: Objects{obj(t, svc), obj(t, stsNotReady), obj(t, podUnschedulable)},
			want: []string{"ResourceReady=False/Unschedulable", "InferenceReady=False/WorkloadNotReady",
				"WorkspaceReady=False/Unschedulable", "WorkspaceSucceeded=False/Unschedulable"},
			check: func(is *is.I, w *WorkspaceStatus) {
				is.True(strings.Contains(w.Condition(ResourceReady).Message, "node affinity"))
				is.True(w.Failing())
			},
		},
		{
			name: "quota: the provisioner's reason", files: phiFiles,
			changes: appliedObjects("phi-3", apply.Created),
			cluster: Objects{obj(t, svc), obj(t, stsNotReady)},
			nodes:   map[string]provision.NodeState{"team-a/phi-3": {Reason: "QuotaExceeded", Message: "Standard_NC6s_v3: 0 of 24 vCPUs left in eastus"}},
			want: []string{"ResourceReady=False/QuotaExceeded", "InferenceReady=False/WorkloadNotReady",
				"WorkspaceReady=False/QuotaExceeded", "WorkspaceSucceeded=False/QuotaExceeded"},
			check: func(is *is.I, w *WorkspaceStatus) {
				is.Equal(w.Condition(WorkspaceReady).Message, "Standard_NC6s_v3: 0 of 24 vCPUs left in eastus")
			},
		},
		{
			name: "image cannot be pulled: named beside kstatus's words", files: phiFiles,
			changes: appliedObjects("phi-3", apply.Unchanged),
			cluster: Objects{obj(t, svc), obj(t, stsNotReady), obj(t, podImagePull)},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=False/WorkloadNotReady",
				"WorkspaceReady=False/WorkloadNotReady", "WorkspaceSucceeded=False/WorkloadNotReady"},
			check: func(is *is.I, w *WorkspaceStatus) {
				is.True(strings.Contains(w.Condition(InferenceReady).Message, "ImagePullBackOff"))
			},
		},
		{
			name: "apply failed", files: phiFiles,
			changes: []apply.Change{{Object: apply.ObjectRef{Kind: "StatefulSet", Namespace: "team-a", Name: "phi-3"}, Workspace: "team-a/phi-3", Action: apply.Failed, Err: errQuota}},
			cluster: Objects{},
			want: []string{"ResourceReady=False/Pending", "InferenceReady=False/WorkloadNotFound",
				"WorkspaceReady=False/ApplyFailed", "WorkspaceSucceeded=False/ApplyFailed"},
			check: func(is *is.I, w *WorkspaceStatus) {
				is.Equal(w.Objects[0].Health, HealthFailed)
				is.Equal(w.Condition(WorkspaceReady).Message, "StatefulSet/team-a/phi-3: quota")
			},
		},
		{
			name: "tuning job done", files: map[string]string{"ws/tune.yaml": tuning},
			changes: []apply.Change{{Object: apply.ObjectRef{Kind: "Job", Namespace: "team-a", Name: "tune"}, Workspace: "team-a/tune", Action: apply.Unchanged}},
			cluster: Objects{obj(t, jobDone)},
			want: []string{"ResourceReady=True/NodesReady", "JobStarted=True/JobStarted", "JobSucceeded=True/JobSucceeded",
				"WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady"},
			check: func(is *is.I, w *WorkspaceStatus) { is.Equal(w.Mode, "tuning") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			res := result(t, "c1", tt.files, tt.changes...)
			if tt.nodes != nil {
				res.Nodes = tt.nodes
			}
			rep := Compute(Input{Result: res, Cluster: tt.cluster, Now: t0})
			is.Equal(len(rep.Workspaces), 1)
			w := rep.Workspaces[0]
			is.Equal(conds(w), tt.want)
			for _, c := range w.Conditions {
				is.Equal(c.LastTransitionTime, t0)
			}
			if tt.check != nil {
				tt.check(is, w)
			}
		})
	}
}

func TestComputeKeepsTransitionTimes(t *testing.T) {
	is := is.New(t)
	files := map[string]string{"ws/phi-3.yaml": phi3}
	res := result(t, "c1", files, appliedObjects("phi-3", apply.Created)...)
	first := Compute(Input{Result: res, Cluster: Objects{obj(t, svc), obj(t, stsNotReady), obj(t, podRunning)}, Now: t0})
	is.Equal(first.UpdatedAt, t0)

	// Nothing changed a minute later: the same report, times and all.
	again := Compute(Input{Result: res, Cluster: Objects{obj(t, svc), obj(t, stsNotReady), obj(t, podRunning)}, Previous: first, Now: t0.Add(time.Minute)})
	is.True(Equal(again, first))
	is.Equal(again.UpdatedAt, t0)

	// The pod becomes ready: InferenceReady and WorkspaceReady move, ResourceReady keeps its time.
	t2 := t0.Add(2 * time.Minute)
	ready := Compute(Input{Result: res, Cluster: Objects{obj(t, svc), obj(t, stsReady), obj(t, podRunning)}, Previous: again, Now: t2})
	w := ready.Workspaces[0]
	is.Equal(w.Condition(ResourceReady).LastTransitionTime, t0)
	is.Equal(w.Condition(InferenceReady).LastTransitionTime, t2)
	is.Equal(w.Condition(WorkspaceReady).LastTransitionTime, t2)
	is.Equal(w.Created, t0)
	is.Equal(ready.UpdatedAt, t2)
	is.True(!Equal(ready, again))
}

func TestComputeBrokenFileCarriesStatusOver(t *testing.T) {
	is := is.New(t)
	files := map[string]string{"ws/phi-3.yaml": phi3, "ws/other.yaml": strings.ReplaceAll(phi3, "phi-3", "other")}
	before := Compute(Input{Result: result(t, "c1", files, appliedObjects("phi-3", apply.Created)...), Now: t0})
	is.Equal(len(before.Workspaces), 2)

	files["ws/phi-3.yaml"] = "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata: {name: [unclosed\n"
	after := Compute(Input{Result: result(t, "c2", files), Previous: before, Now: t0.Add(time.Minute)})
	is.Equal(len(after.Workspaces), 2)
	w := after.Workspace("team-a/phi-3")
	is.True(w != nil)
	is.True(w.Stale != "")
	is.True(w.Failing())
	is.True(len(w.Problems) > 0)
	is.Equal(w.Problems[0].Path, "ws/phi-3.yaml") // the error names the file
	is.True(w.Problems[0].Line > 0)               // and the line
	is.True(len(after.Problems) > 0)              // and the report lists it too
}

func TestComputeDeletedWorkspaceDisappears(t *testing.T) {
	is := is.New(t)
	files := map[string]string{"ws/phi-3.yaml": phi3, "ws/other.yaml": strings.ReplaceAll(phi3, "phi-3", "other")}
	before := Compute(Input{Result: result(t, "c1", files), Now: t0})
	delete(files, "ws/other.yaml")
	after := Compute(Input{Result: result(t, "c2", files), Previous: before, Now: t0})
	is.Equal(len(after.Workspaces), 1)
	is.Equal(after.Workspaces[0].Name, "phi-3")
}
