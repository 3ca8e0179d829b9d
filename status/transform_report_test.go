package status

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/sync/apply"
)

// Workspaces named as the objects of testdata/live.yaml.
var (
	livePhi3     = strings.Replace(phi3, "name: phi-3\n  namespace: team-a", "name: workspace-phi-3-mini\n  namespace: default", 1)
	liveQwen     = strings.Replace(phi3, "name: phi-3\n  namespace: team-a", "name: qwen-coder\n  namespace: dev-tools", 1)
	liveAdapters = strings.Replace(phi3, "name: phi-3\n  namespace: team-a", "name: phi-3-adapters\n  namespace: adapters", 1)
	liveTuning   = strings.Replace(tuning, "name: tune\n  namespace: team-a", "name: workspace-tuning-falcon-7b\n  namespace: tuning", 1)
)

// liveWorkspace is a workspace of live.yaml: its file and the objects applied for it.
type liveWorkspace struct {
	key     string
	file    string
	objects []string // Kind/namespace/name
}

var (
	wsPhi3 = liveWorkspace{"default/workspace-phi-3-mini", livePhi3, []string{"Service/default/workspace-phi-3-mini", "StatefulSet/default/workspace-phi-3-mini"}}
	// The same workspace served by a Deployment.
	wsPhi3Deploy = liveWorkspace{"default/workspace-phi-3-mini", livePhi3, []string{"Service/default/workspace-phi-3-mini", "Deployment/default/workspace-phi-3-mini-deploy"}}
	wsQwen       = liveWorkspace{"dev-tools/qwen-coder", liveQwen, []string{"Service/dev-tools/qwen-coder", "StatefulSet/dev-tools/qwen-coder",
		"ConfigMap/dev-tools/qwen-coder-inference-params"}}
	wsAdapters = liveWorkspace{"adapters/phi-3-adapters", liveAdapters, []string{"Service/adapters/phi-3-adapters", "StatefulSet/adapters/phi-3-adapters",
		"PersistentVolumeClaim/adapters/legal-adapter"}}
	wsTuning = liveWorkspace{"tuning/workspace-tuning-falcon-7b", liveTuning, []string{"Job/tuning/workspace-tuning-falcon-7b", "ConfigMap/tuning/falcon-7b-lora-params",
		"PersistentVolumeClaim/tuning/tuning-input", "PersistentVolumeClaim/tuning/tuning-output"}}
)

func set(t *testing.T, u *unstructured.Unstructured, v any, path ...string) {
	t.Helper()
	if err := unstructured.SetNestedField(u.Object, v, path...); err != nil {
		t.Fatal(err)
	}
}

func cond(typ, status, reason string) any {
	return map[string]any{"type": typ, "status": status, "reason": reason, "message": reason + " says so"}
}

// TestTrimKeepsReports computes the statuses from the objects as the API server returns them and
// from the same objects trimmed as the reporter's cache keeps them: the reports must not differ.
// want pins what the full objects give, so each case covers the branch it names.
func TestTrimKeepsReports(t *testing.T) {
	const (
		phi3STS  = "StatefulSet/default/workspace-phi-3-mini"
		phi3Pod  = "Pod/default/workspace-phi-3-mini-0"
		deploy   = "Deployment/default/workspace-phi-3-mini-deploy"
		job      = "Job/tuning/workspace-tuning-falcon-7b"
		qwenSvc  = "Service/dev-tools/qwen-coder"
		tuningIn = "PersistentVolumeClaim/tuning/tuning-input"
	)
	type objs = map[string]*unstructured.Unstructured
	tests := []struct {
		name string
		ws   liveWorkspace
		edit func(t *testing.T, o objs)
		want []string // conditions of the full objects' report
		msg  string   // in WorkspaceReady's message
	}{
		{name: "StatefulSet ready", ws: wsPhi3,
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=True/WorkloadReady", "WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady"},
			msg:  "serving at 10.96.160.114:80"},
		{name: "StatefulSet progressing, pod cannot pull its image", ws: wsPhi3,
			edit: func(t *testing.T, o objs) {
				set(t, o[phi3STS], int64(0), "status", "readyReplicas")
				set(t, o[phi3Pod], "Pending", "status", "phase")
				set(t, o[phi3Pod], []any{map[string]any{"name": "inference", "ready": false, "restartCount": int64(0), "image": "x",
					"state": map[string]any{"waiting": map[string]any{"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}},
					"status", "containerStatuses")
			},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=False/WorkloadNotReady", "WorkspaceReady=False/WorkloadNotReady", "WorkspaceSucceeded=False/WorkloadNotReady"},
			msg:  "Ready: 0/1; pod workspace-phi-3-mini-0 container inference: ImagePullBackOff Back-off pulling image"},
		{name: "StatefulSet short of replicas (spec.replicas)", ws: wsPhi3,
			edit: func(t *testing.T, o objs) { set(t, o[phi3STS], int64(3), "spec", "replicas") },
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=False/WorkloadNotReady", "WorkspaceReady=False/WorkloadNotReady", "WorkspaceSucceeded=False/WorkloadNotReady"},
			msg:  "Replicas: 1/3"},
		{name: "StatefulSet not ready, updated OnDelete (spec.updateStrategy.type)", ws: wsPhi3,
			edit: func(t *testing.T, o objs) {
				set(t, o[phi3STS], int64(0), "status", "readyReplicas")
				set(t, o[phi3STS], map[string]any{"type": "OnDelete"}, "spec", "updateStrategy")
			},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=True/WorkloadReady", "WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady"}},
		{name: "StatefulSet partition rollout (spec.updateStrategy.rollingUpdate.partition)", ws: wsPhi3,
			edit: func(t *testing.T, o objs) {
				set(t, o[phi3STS], int64(2), "spec", "replicas")
				set(t, o[phi3STS], int64(2), "status", "replicas")
				set(t, o[phi3STS], int64(2), "status", "readyReplicas")
				set(t, o[phi3STS], int64(0), "status", "updatedReplicas")
				set(t, o[phi3STS], int64(1), "spec", "updateStrategy", "rollingUpdate", "partition")
			},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=False/WorkloadNotReady", "WorkspaceReady=False/WorkloadNotReady", "WorkspaceSucceeded=False/WorkloadNotReady"},
			msg:  "updated: 0/1"},
		{name: "StatefulSet generation not observed yet", ws: wsPhi3,
			edit: func(t *testing.T, o objs) { set(t, o[phi3STS], int64(2), "metadata", "generation") },
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=False/WorkloadNotReady", "WorkspaceReady=False/WorkloadNotReady", "WorkspaceSucceeded=False/WorkloadNotReady"},
			msg:  "StatefulSet generation is 2, but latest observed generation is 1"},
		{name: "StatefulSet failed (Stalled)", ws: wsPhi3,
			edit: func(t *testing.T, o objs) {
				set(t, o[phi3STS], []any{cond("Stalled", "True", "CreateFailed")}, "status", "conditions")
			},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=False/WorkloadFailed", "WorkspaceReady=False/WorkloadFailed", "WorkspaceSucceeded=False/WorkloadFailed"},
			msg:  "CreateFailed says so"},
		{name: "StatefulSet terminating", ws: wsPhi3,
			edit: func(t *testing.T, o objs) {
				set(t, o[phi3STS], "2026-11-29T04:00:00Z", "metadata", "deletionTimestamp")
			},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=False/Terminating", "WorkspaceReady=False/Terminating", "WorkspaceSucceeded=False/Terminating"}},
		{name: "Deployment available", ws: wsPhi3Deploy,
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=True/WorkloadReady", "WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady"}},
		{name: "Deployment with a progress deadline not yet progressing (spec.progressDeadlineSeconds)", ws: wsPhi3Deploy,
			edit: func(t *testing.T, o objs) {
				set(t, o[deploy], []any{cond("Available", "True", "MinimumReplicasAvailable"), cond("Progressing", "True", "ReplicaSetUpdated")}, "status", "conditions")
			},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=False/WorkloadNotReady", "WorkspaceReady=False/WorkloadNotReady", "WorkspaceSucceeded=False/WorkloadNotReady"},
			msg:  "ReplicaSet not Available"},
		{name: "Deployment past its progress deadline", ws: wsPhi3Deploy,
			edit: func(t *testing.T, o objs) {
				set(t, o[deploy], []any{cond("Progressing", "False", "ProgressDeadlineExceeded")}, "status", "conditions")
			},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=False/WorkloadFailed", "WorkspaceReady=False/WorkloadFailed", "WorkspaceSucceeded=False/WorkloadFailed"},
			msg:  "Progress deadline exceeded"},
		{name: "LoadBalancer with an ingress; ConfigMap", ws: wsQwen,
			edit: func(t *testing.T, o objs) {
				set(t, o[qwenSvc], []any{map[string]any{"ip": "20.1.2.3", "ipMode": "VIP"}}, "status", "loadBalancer", "ingress")
			},
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=True/WorkloadReady", "WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady"},
			msg:  "serving at 10.96.104.203:80"},
		{name: "LoadBalancer without a cluster IP (spec.type)", ws: wsQwen,
			edit: func(t *testing.T, o objs) { set(t, o[qwenSvc], "", "spec", "clusterIP") },
			want: []string{"ResourceReady=True/NodesReady", "InferenceReady=True/WorkloadReady", "WorkspaceReady=False/ObjectNotReady", "WorkspaceSucceeded=False/ObjectNotReady"},
			msg:  "ClusterIP not set. Service type: LoadBalancer"},
		{name: "unscheduled pod, PVC pending", ws: wsAdapters,
			want: []string{"ResourceReady=False/Unschedulable", "InferenceReady=False/WorkloadNotReady", "WorkspaceReady=False/Unschedulable", "WorkspaceSucceeded=False/Unschedulable"},
			msg:  "pod has unbound immediate PersistentVolumeClaims"},
		{name: "Job complete, PVCs bound", ws: wsTuning,
			want: []string{"ResourceReady=True/NodesReady", "JobStarted=True/JobStarted", "JobSucceeded=True/JobSucceeded", "WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady"}},
		{name: "Job complete after several completions (spec.completions)", ws: wsTuning,
			edit: func(t *testing.T, o objs) {
				set(t, o[job], int64(3), "spec", "completions")
				set(t, o[job], int64(3), "status", "succeeded")
			},
			want: []string{"ResourceReady=True/NodesReady", "JobStarted=True/JobStarted", "JobSucceeded=True/JobSucceeded", "WorkspaceReady=True/WorkspaceReady", "WorkspaceSucceeded=True/WorkspaceReady"},
			msg:  "Job Completed. succeeded: 3/3"},
		{name: "Job running, a PVC pending", ws: wsTuning,
			edit: func(t *testing.T, o objs) {
				unstructured.RemoveNestedField(o[job].Object, "status", "conditions")
				unstructured.RemoveNestedField(o[job].Object, "status", "completionTime")
				set(t, o[job], int64(0), "status", "succeeded")
				set(t, o[job], int64(1), "status", "active")
				set(t, o[tuningIn], "Pending", "status", "phase")
			},
			want: []string{"ResourceReady=True/NodesReady", "JobStarted=True/JobStarted", "JobSucceeded=Unknown/JobInProgress", "WorkspaceReady=False/JobInProgress", "WorkspaceSucceeded=False/JobInProgress"}},
		{name: "Job failed (spec.completions, spec.parallelism)", ws: wsTuning,
			edit: func(t *testing.T, o objs) {
				set(t, o[job], []any{cond("FailureTarget", "True", "BackoffLimitExceeded"), cond("Failed", "True", "BackoffLimitExceeded")}, "status", "conditions")
				set(t, o[job], int64(0), "status", "succeeded")
				set(t, o[job], int64(7), "status", "failed")
				set(t, o[job], int64(2), "spec", "parallelism")
				unstructured.RemoveNestedField(o[job].Object, "spec", "completions")
			},
			want: []string{"ResourceReady=True/NodesReady", "JobStarted=True/JobStarted", "JobSucceeded=False/JobFailed", "WorkspaceReady=False/JobFailed", "WorkspaceSucceeded=False/JobFailed"},
			msg:  "Job Failed. failed: 7/2"},
		{name: "Job not started", ws: wsTuning,
			edit: func(t *testing.T, o objs) {
				unstructured.RemoveNestedField(o[job].Object, "status")
				set(t, o[job], int64(1), "status", "observedGeneration") // not a Job field; kstatus still looks
			},
			want: []string{"ResourceReady=True/NodesReady", "JobStarted=False/JobNotStarted", "JobSucceeded=Unknown/JobInProgress", "WorkspaceReady=False/JobInProgress", "WorkspaceSucceeded=False/JobInProgress"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			live := liveObjects(t)
			if tt.edit != nil {
				tt.edit(t, live)
			}
			var full, trimmed Objects
			for key, u := range live {
				full = append(full, u)
				kind, _, _ := strings.Cut(key, "/")
				tr, err := trimmer(kind)(u)
				is.NoErr(err)
				trimmed = append(trimmed, tr.(*unstructured.Unstructured))
			}
			var changes []apply.Change
			for _, key := range tt.ws.objects {
				kind, rest, _ := strings.Cut(key, "/")
				ns, name, _ := strings.Cut(rest, "/")
				changes = append(changes, apply.Change{Object: apply.ObjectRef{Kind: kind, Namespace: ns, Name: name},
					Workspace: tt.ws.key, Action: apply.Unchanged})
			}
			res := result(t, "c1", map[string]string{"ws/w.yaml": tt.ws.file}, changes...)
			want := Compute(Input{Result: res, Cluster: full, Now: t0})
			got := Compute(Input{Result: res, Cluster: trimmed, Now: t0})

			is.Equal(len(want.Workspaces), 1)
			w := want.Workspaces[0]
			is.Equal(conds(w), tt.want)
			if !strings.Contains(strings.Join(messages(w), "\n"), tt.msg) {
				t.Errorf("messages %q do not say %q", messages(w), tt.msg)
			}
			is.Equal(len(w.Objects), len(tt.ws.objects)) // every object was found
			wj, err := json.MarshalIndent(want, "", "  ")
			is.NoErr(err)
			gj, err := json.MarshalIndent(got, "", "  ")
			is.NoErr(err)
			if string(gj) != string(wj) {
				t.Errorf("trimmed objects give another report:\n%s\nfull objects give:\n%s", gj, wj)
			}
			is.True(Equal(got, want))
		})
	}
}

func messages(w *WorkspaceStatus) []string {
	var out []string
	for _, c := range w.Conditions {
		out = append(out, c.Type+": "+c.Message)
	}
	for _, o := range w.Objects {
		out = append(out, o.Kind+" "+o.Name+": "+o.Health+" "+o.Message)
	}
	return out
}
