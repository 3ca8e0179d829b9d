// Package e2e holds end-to-end tests against a real control plane (testenv) and a loopback Git
// server (gitserver).
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/matryer/is"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

const fieldManager = "kaito-sync-smoke"

// A Deployment shaped like Kaito's inference workloads (one GPU, the GPU tolerations, required
// node affinity on the workspace's labels) schedules onto a simulated AKS GPU node and becomes
// Available; one asking for more GPUs than the node has stays Pending.
func TestSmokeGPUDeployment(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)

	node := testenv.GPUNode{
		Name:         "aks-smokegpu-0",
		InstanceType: "Standard_NC24ads_A100_v4",
		GPUs:         1,
		AgentPool:    "smokegpu",
		Labels:       map[string]string{"kaito.sh/workspace": "smoke", "apps": "smoke"},
		SKUTaint:     true,
	}
	created, err := env.AddGPUNode(ctx, node)
	is.NoErr(err)
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Nodes().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
	})
	is.Equal(created.Labels[testenv.LabelAgentPool], "smokegpu")
	is.Equal(created.Labels[testenv.LabelInstanceType], "Standard_NC24ads_A100_v4")
	is.NoErr(env.WaitNodeReady(ctx, node.Name))

	dep := gpuDeployment("smoke", ns, 1)
	got, err := env.Client.AppsV1().Deployments(ns).Apply(ctx, dep, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	is.NoErr(err)
	is.True(appliedBy(got.ManagedFields, fieldManager)) // server-side apply recorded our field manager
	is.NoErr(waitDeploymentAvailable(ctx, ns, "smoke"))

	pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=smoke"})
	is.NoErr(err)
	is.Equal(len(pods.Items), 1)
	is.Equal(pods.Items[0].Spec.NodeName, node.Name) // ran on the GPU node
	is.Equal(pods.Items[0].Status.Phase, corev1.PodRunning)

	// The node has one GPU and it is taken: a second workload asking for 2 cannot schedule.
	_, err = env.Client.AppsV1().Deployments(ns).Apply(ctx, gpuDeployment("toobig", ns, 2), metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	is.NoErr(err)
	is.NoErr(waitPodUnschedulable(ctx, ns, "app=toobig"))
}

// gpuDeployment is an apply configuration for a one-replica Deployment asking for gpus GPUs.
func gpuDeployment(name, ns string, gpus int64) *appsv1ac.DeploymentApplyConfiguration {
	gpu := corev1.ResourceList{testenv.ResourceGPU: *resource.NewQuantity(gpus, resource.DecimalSI)}
	labels := map[string]string{"app": name}
	return appsv1ac.Deployment(name, ns).
		WithLabels(map[string]string{"app.kubernetes.io/managed-by": "kaito-sync"}).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(1).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(labels).
				WithSpec(corev1ac.PodSpec().
					WithContainers(corev1ac.Container().
						WithName("model").
						WithImage("mcr.microsoft.com/aks/kaito/kaito-base:0.0.1").
						WithResources(corev1ac.ResourceRequirements().WithRequests(gpu).WithLimits(gpu))).
					WithTolerations(
						corev1ac.Toleration().WithKey("sku").WithOperator(corev1.TolerationOpEqual).WithValue("gpu").WithEffect(corev1.TaintEffectNoSchedule),
						corev1ac.Toleration().WithKey("nvidia.com/gpu").WithOperator(corev1.TolerationOpExists).WithEffect(corev1.TaintEffectNoSchedule),
					).
					WithAffinity(corev1ac.Affinity().WithNodeAffinity(corev1ac.NodeAffinity().
						WithRequiredDuringSchedulingIgnoredDuringExecution(corev1ac.NodeSelector().WithNodeSelectorTerms(
							corev1ac.NodeSelectorTerm().WithMatchExpressions(
								corev1ac.NodeSelectorRequirement().WithKey("apps").WithOperator(corev1.NodeSelectorOpIn).WithValues("smoke"),
								corev1ac.NodeSelectorRequirement().WithKey(testenv.LabelInstanceType).WithOperator(corev1.NodeSelectorOpIn).WithValues("Standard_NC24ads_A100_v4"),
							))))))))
}

func appliedBy(mf []metav1.ManagedFieldsEntry, manager string) bool {
	for _, e := range mf {
		if e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// waitDeploymentAvailable watches the Deployment until its Available condition is True.
func waitDeploymentAvailable(ctx context.Context, ns, name string) error {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	deps := env.Client.AppsV1().Deployments(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return deps.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return deps.Watch(ctx, o)
		},
	}
	var last *appsv1.Deployment
	_, err := watchtools.UntilWithSync(ctx, lw, &appsv1.Deployment{}, nil, func(ev watch.Event) (bool, error) {
		d, ok := ev.Object.(*appsv1.Deployment)
		if !ok {
			return false, nil
		}
		last = d
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				return d.Status.AvailableReplicas == *d.Spec.Replicas, nil
			}
		}
		return false, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("deployment %s/%s not Available (status %+v): %w", ns, name, last.Status, err)
	}
	return err
}

// waitPodUnschedulable polls until a pod matching selector reports PodScheduled=False, Unschedulable.
func waitPodUnschedulable(ctx context.Context, ns, selector string) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				return fmt.Errorf("pod %s was scheduled to %s, want unschedulable", p.Name, p.Spec.NodeName)
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no unschedulable pod for %s: %w", selector, ctx.Err())
		case <-tick.C:
		}
	}
}

// A commit pushed to the loopback Git server comes back through a go-git clone.
func TestSmokeGitRoundTrip(t *testing.T) {
	is := is.New(t)
	srv := gitserver.New(t, gitserver.Options{User: "kaito", Password: "smoke-pw"})
	url, err := srv.CreateRepo("workspaces")
	is.NoErr(err)
	const content = "apiVersion: kaito.sh/v1beta1\nkind: Workspace\nmetadata:\n  name: phi-3\n"
	hash, err := srv.Commit("workspaces", "main", map[string]string{"workspaces/phi-3.yaml": content}, "add phi-3")
	is.NoErr(err)

	dir := t.TempDir()
	r, err := git.PlainClone(dir, false, &git.CloneOptions{URL: url, Auth: srv.Auth(), ReferenceName: plumbing.NewBranchReferenceName("main")})
	is.NoErr(err)
	head, err := r.Head()
	is.NoErr(err)
	is.Equal(head.Hash().String(), hash)
	b, err := os.ReadFile(filepath.Join(dir, "workspaces", "phi-3.yaml"))
	is.NoErr(err)
	is.Equal(string(b), content)
}
