package status

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// What render writes is what status looks for: every rendered object says kaito-sync manages it
// and names its workspace, and a pod made from a rendered workload's template is found as one of
// the workspace's pods.
func TestRenderedLabelsAreWhatStatusSelects(t *testing.T) {
	is := is.New(t)
	doc := `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata: {name: chat, namespace: team-a}
resource: {instanceType: Standard_NC24ads_A100_v4, labelSelector: {matchLabels: {apps: chat}}}
inference: {preset: {name: phi-4-mini-instruct}}
`
	set, err := workspaces.Load(fstest.MapFS{"chat.yaml": {Data: []byte(doc)}}, ".", workspaces.Options{})
	is.NoErr(err)
	is.Equal(len(set.Workspaces), 1)
	res, err := render.New(presets.Default()).Objects(set.Workspaces[0], nil, render.Source{Path: "chat.yaml"})
	is.NoErr(err)
	workloads := 0
	for _, o := range res.Objects {
		l := o.GetLabels()
		is.Equal(l[ownership.LabelManagedBy], ownership.ManagedBy)
		is.Equal(l[ownership.LabelWorkspace], "chat")
		is.Equal(l[ownership.LabelWorkspaceNamespace], "team-a")
		if o.GetKind() != "StatefulSet" {
			continue
		}
		workloads++
		podLabels, _, err := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
		is.NoErr(err)
		pod := &unstructured.Unstructured{}
		pod.SetKind("Pod")
		pod.SetNamespace("team-a")
		pod.SetName(o.GetName() + "-0")
		pod.SetLabels(podLabels)
		is.Equal(len(Objects{pod}.Pods("team-a", "chat")), 1)
		is.Equal(len(Objects{pod}.Pods("team-b", "chat")), 0)
		is.True(!strings.Contains(podLabels[ownership.LabelSyncRoot], "/")) // pods carry no sync root
	}
	is.Equal(workloads, 1)
}
