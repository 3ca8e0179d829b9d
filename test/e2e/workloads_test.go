package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

// The other workload kinds Kaito renders also run on simulated GPU nodes: a StatefulSet (multi-node
// inference) becomes Ready, a Job (tuning) Completes.
func TestGPUStatefulSetAndJob(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := env.NewNamespace(t)

	for i := range 2 {
		n := testenv.GPUNode{
			Name:         fmt.Sprintf("aks-wlgpu-%d", i),
			InstanceType: "Standard_NC96ads_A100_v4",
			GPUs:         4,
			GPUModel:     "NVIDIA-A100-PCIE-80GB",
			AgentPool:    "wlgpu",
			Labels:       map[string]string{"kaito.sh/workspace": "wl"},
			SKUTaint:     true,
		}
		_, err := env.AddGPUNode(ctx, n)
		is.NoErr(err)
		t.Cleanup(func() { _ = env.Client.CoreV1().Nodes().Delete(context.Background(), n.Name, metav1.DeleteOptions{}) })
		is.NoErr(env.WaitNodeReady(ctx, n.Name))
	}

	podSpec := func(app string) corev1.PodTemplateSpec {
		gpu := corev1.ResourceList{testenv.ResourceGPU: resource.MustParse("4")}
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyAlways,
				Containers: []corev1.Container{{Name: "c", Image: "example.invalid/model:1",
					Resources: corev1.ResourceRequirements{Requests: gpu, Limits: gpu}}},
				Tolerations:  []corev1.Toleration{{Key: "sku", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}},
				NodeSelector: map[string]string{"kaito.sh/workspace": "wl"},
			},
		}
	}

	// Two replicas, four GPUs each: one per node.
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "wl", Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To[int32](2),
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": "wl"}},
			ServiceName:         "wl-headless",
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Template:            podSpec("wl"),
		},
	}
	_, err := env.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{})
	is.NoErr(err)
	is.NoErr(poll(ctx, func() (bool, string, error) {
		s, err := env.Client.AppsV1().StatefulSets(ns).Get(ctx, "wl", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return s.Status.ReadyReplicas == 2, fmt.Sprintf("%+v", s.Status), nil
	}))
	pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=wl"})
	is.NoErr(err)
	is.Equal(len(pods.Items), 2)
	is.True(pods.Items[0].Spec.NodeName != pods.Items[1].Spec.NodeName) // GPUs are exhausted per node

	// Scale down to free one node, then run a Job there.
	_, err = env.Client.AppsV1().StatefulSets(ns).Patch(ctx, "wl", "application/merge-patch+json",
		[]byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{})
	is.NoErr(err)
	tmpl := podSpec("tune")
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "tune", Namespace: ns},
		Spec:       batchv1.JobSpec{Template: tmpl, BackoffLimit: ptr.To[int32](0)},
	}
	_, err = env.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
	is.NoErr(err)
	is.NoErr(poll(ctx, func() (bool, string, error) {
		j, err := env.Client.BatchV1().Jobs(ns).Get(ctx, "tune", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				return false, "", fmt.Errorf("job failed: %s", c.Message)
			}
			if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%+v", j.Status), nil
	}))
}

// poll calls cond every 200ms until it is done, fails, or ctx ends; the last state goes in the error.
func poll(ctx context.Context, cond func() (done bool, state string, err error)) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		done, state, err := cond()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last state: %s", ctx.Err(), state)
		case <-tick.C:
		}
	}
}
