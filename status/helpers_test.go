package status

import (
	"errors"
	"testing"
	"testing/fstest"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/provision"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

const phi3 = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: phi-3
  namespace: team-a
resource:
  instanceType: Standard_NC6s_v3
  labelSelector:
    matchLabels:
      apps: phi-3
inference:
  preset:
    name: phi-3-mini-4k-instruct
`

const tuning = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: tune
  namespace: team-a
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      app: tune
tuning:
  preset:
    name: phi-3-mini-128k-instruct
  method: qlora
  input:
    urls:
      - "https://example.com/data.parquet"
  output:
    image: "myregistry.azurecr.io/adapters/phi-3-dolly:0.0.1"
    imagePushSecret: acr-push
`

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// result loads files as a sync would and records the given changes.
func result(t *testing.T, commit string, files map[string]string, changes ...apply.Change) *ksync.Result {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	set, err := workspaces.Load(fsys, ".", workspaces.Options{})
	if err != nil {
		t.Fatal(err)
	}
	workspaces.Check(set, presets.Default(), workspaces.CheckOptions{})
	return &ksync.Result{Commit: commit, Set: set, Changes: apply.ChangeSet{Entries: changes},
		RenderErrors: map[string]error{}, Nodes: map[string]provision.NodeState{}}
}

// appliedObjects are the changes of an inference workspace applied without trouble.
func appliedObjects(ws string, action apply.Action) []apply.Change {
	return []apply.Change{
		{Object: apply.ObjectRef{Kind: "Service", Namespace: "team-a", Name: ws}, Workspace: "team-a/" + ws, Action: action},
		{Object: apply.ObjectRef{Kind: "StatefulSet", Namespace: "team-a", Name: ws}, Workspace: "team-a/" + ws, Action: action},
	}
}

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	// Through JSON, so numbers are int64 as the API server's are, not float64.
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u
}

const svc = `apiVersion: v1
kind: Service
metadata: {name: phi-3, namespace: team-a}
spec:
  clusterIP: 10.96.0.42
  ports: [{port: 80, targetPort: 5000}]
`

const stsReady = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: phi-3, namespace: team-a, generation: 1}
spec: {replicas: 1}
status: {observedGeneration: 1, replicas: 1, readyReplicas: 1, currentReplicas: 1, updatedReplicas: 1, availableReplicas: 1}
`

const stsNotReady = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: phi-3, namespace: team-a, generation: 1}
spec: {replicas: 1}
status: {observedGeneration: 1, replicas: 1, readyReplicas: 0, currentReplicas: 1, updatedReplicas: 1}
`

const podRunning = `apiVersion: v1
kind: Pod
metadata:
  name: phi-3-0
  namespace: team-a
  labels: {app.kubernetes.io/managed-by: kaito-sync, kaito.sh/workspace: phi-3, kaito.sh/workspacenamespace: team-a}
spec: {nodeName: gpu-1}
`

const podUnschedulable = `apiVersion: v1
kind: Pod
metadata:
  name: phi-3-0
  namespace: team-a
  labels: {app.kubernetes.io/managed-by: kaito-sync, kaito.sh/workspace: phi-3, kaito.sh/workspacenamespace: team-a}
status:
  conditions:
  - {type: PodScheduled, status: "False", reason: Unschedulable, message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}
`

const podImagePull = `apiVersion: v1
kind: Pod
metadata:
  name: phi-3-0
  namespace: team-a
  labels: {app.kubernetes.io/managed-by: kaito-sync, kaito.sh/workspace: phi-3, kaito.sh/workspacenamespace: team-a}
spec: {nodeName: gpu-1}
status:
  containerStatuses:
  - name: model
    state: {waiting: {reason: ImagePullBackOff, message: "Back-off pulling image"}}
`

const jobDone = `apiVersion: batch/v1
kind: Job
metadata: {name: tune, namespace: team-a}
spec: {completions: 1, parallelism: 1}
status:
  startTime: "2025-06-01T12:00:00Z"
  succeeded: 1
  conditions: [{type: Complete, status: "True"}]
`

var errQuota = errors.New("quota")
