package syncloop

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// examplesRoot is the one sync root of both example tests: the examples use fixed namespaces and
// names, so whichever runs second (or again, with -count) finds the first one's objects as its own.
var examplesRoot = apply.RootID("examples")

// renderExamples renders every example workspace with its companions, with opts.
func renderExamples(t *testing.T, opts render.Options) ([]apply.Workspace, []*workspaces.Workspace) {
	t.Helper()
	set, err := workspaces.Load(os.DirFS("../../../examples/workspaces"), ".", workspaces.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat := presets.Default()
	workspaces.Check(set, cat, workspaces.CheckOptions{})
	if set.Problems.HasErrors() {
		t.Fatalf("examples invalid: %v", set.Problems)
	}
	comps := map[string]*workspaces.Companion{}
	for _, c := range set.Companions {
		comps[c.Key()] = c
	}
	r := render.NewWithOptions(cat, opts)
	var out []apply.Workspace
	for _, ws := range set.Valid() {
		var cs []*workspaces.Companion
		for _, ref := range workspaces.References(ws) {
			if c := comps[ref]; c != nil {
				cs = append(cs, c)
			}
		}
		res, err := r.Render(ws, cs, render.Source{Path: ws.Source.Path})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, apply.Workspace{Key: ws.Key(), Objects: res.Objects})
	}
	return out, set.Valid()
}

// TestExamplesAcceptedByTheAPIServer sends every rendered object of the examples, as Kaito's
// operator creates them (node-label terms, weights on the NVMe StorageClass), through the real
// kube-apiserver's validation and defaulting (server-side dry run): nothing is persisted.
func TestExamplesAcceptedByTheAPIServer(t *testing.T) {
	is := is.New(t)
	rendered, _ := renderExamples(t, render.KaitoDefaults)
	m, err := apply.New(env.Config, apply.Options{Root: examplesRoot, DryRun: true})
	is.NoErr(err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	is.NoErr(m.Start(ctx))
	cs := m.ApplyAll(ctx, rendered)
	for _, c := range cs.Entries {
		if c.Action == apply.Failed {
			t.Errorf("%s: %v", c.Workspace, c.Err)
		}
	}
	is.True(len(cs.Entries) >= 20)
}

// TestExamplesRunOnGPUNodes applies the examples for real, as `kaito-sync sync --provisioner aks`
// renders them on a cluster without Kaito's NVMe StorageClass (the test cluster has none: weights on
// an emptyDir), gives each workspace kwok GPU nodes shaped like its SKU, labelled by its selector
// and, when it names an instanceType, with the kaito.sh/workspace labels the AKS provisioner puts
// on its pools (which its pods require), and waits for every inference workload to be Ready and
// the URL-fed tuning Job to complete.
func TestExamplesRunOnGPUNodes(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	rendered, wss := renderExamples(t, render.Options{ProvisionedNodeLabels: true})
	cat := presets.Default()
	for _, ws := range wss {
		gpus, instanceType := 1, ws.InstanceType()
		labels := maps.Clone(ws.Resource.LabelSelector.MatchLabels)
		if sku, ok := cat.SKU(instanceType); ok {
			gpus = sku.GPUCount
			labels[ownership.LabelWorkspace] = ws.Metadata.Name
			labels[ownership.LabelWorkspaceNamespace] = ws.Metadata.Namespace
		}
		for i := range render.NodeCount(cat, ws, nil) { // what the AKS provisioner makes: Kaito's node count (no example's config changes it)
			name := fmt.Sprintf("ex-%s-%d", ws.Metadata.Name, i)
			if i < len(ws.Resource.PreferredNodes) {
				name = ws.Resource.PreferredNodes[i]
			}
			addGPUNode(t, name, instanceType, gpus, labels)
		}
	}
	m, err := apply.New(env.Config, apply.Options{Root: examplesRoot})
	is.NoErr(err)
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	is.NoErr(m.Start(mctx))
	cs := m.ApplyAll(ctx, rendered)
	is.True(!cs.Failed())

	for _, ws := range rendered {
		for _, o := range ws.Objects {
			ns, name := o.GetNamespace(), o.GetName()
			switch o.GetKind() {
			case "StatefulSet":
				waitFor(t, "StatefulSet "+ns+"/"+name+" Ready", func(ctx context.Context) bool {
					s, err := env.Client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
					return err == nil && s.Status.ReadyReplicas == *s.Spec.Replicas
				})
			case "Job":
				if strings.Contains(name, "lora") {
					continue // its claims use an Azure storage class this cluster cannot bind
				}
				waitFor(t, "Job "+ns+"/"+name+" Complete", func(ctx context.Context) bool {
					j, err := env.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return false
					}
					for _, c := range j.Status.Conditions {
						if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
							return true
						}
					}
					return false
				})
			}
		}
	}
}

func waitFor(t *testing.T, what string, cond func(context.Context) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		return cond(ctx), nil
	})
	if err != nil {
		t.Fatalf("%s: not reached in time", what)
	}
}
