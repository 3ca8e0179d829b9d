package testenv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// Labels, annotation and resource names of simulated AKS GPU nodes.
const (
	LabelAgentPool      = "kubernetes.azure.com/agentpool"
	LabelAgentPoolShort = "agentpool"
	LabelInstanceType   = "node.kubernetes.io/instance-type"
	LabelGPUProduct     = "nvidia.com/gpu.product"
	ResourceGPU         = corev1.ResourceName("nvidia.com/gpu")
	// KwokAnnotation marks the nodes the environment's kwok manages (and so plays the kubelet for).
	KwokAnnotation = "kwok.x-k8s.io/node"
)

// SKUTaint is the taint AKS GPU node pools created by Kaito carry; workloads tolerate it.
var SKUTaint = corev1.Taint{Key: "sku", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}

// GPUNode describes a kwok-managed Node that looks like an AKS GPU node. The caller gives the GPU
// count (from the SKU catalog); this package knows no SKUs.
type GPUNode struct {
	Name         string            // required
	InstanceType string            // VM size, e.g. Standard_NC24ads_A100_v4 (label node.kubernetes.io/instance-type)
	GPUs         int               // nvidia.com/gpu capacity and allocatable; 0 makes a CPU node
	GPUModel     string            // optional, label nvidia.com/gpu.product ("NVIDIA A100" → "NVIDIA-A100", as GPU feature discovery writes it)
	AgentPool    string            // labels kubernetes.azure.com/agentpool and agentpool; default Name
	Labels       map[string]string // more labels, e.g. kaito.sh/workspace, the workspace's labelSelector
	SKUTaint     bool              // add sku=gpu:NoSchedule, as on Kaito-created AKS GPU pools
	Taints       []corev1.Taint    // more taints
	CPU          string            // capacity; default "32"
	Memory       string            // capacity; default "256Gi"
	Pods         int               // capacity; default 110
}

// Node returns the Node object AddGPUNode creates.
func (g GPUNode) Node() *corev1.Node {
	pool := g.AgentPool
	if pool == "" {
		pool = g.Name
	}
	labels := map[string]string{
		"type":                   "kwok",
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"kubernetes.io/hostname": g.Name,
		LabelAgentPool:           pool,
		LabelAgentPoolShort:      pool,
	}
	if g.InstanceType != "" {
		labels[LabelInstanceType] = g.InstanceType
	}
	if g.GPUModel != "" {
		// A label value has no spaces: GPU feature discovery writes the product name with dashes.
		labels[LabelGPUProduct] = strings.ReplaceAll(g.GPUModel, " ", "-")
	}
	for k, v := range g.Labels {
		labels[k] = v
	}
	taints := append([]corev1.Taint(nil), g.Taints...)
	if g.SKUTaint {
		taints = append(taints, SKUTaint)
	}
	cpu, mem, pods := g.CPU, g.Memory, g.Pods
	if cpu == "" {
		cpu = "32"
	}
	if mem == "" {
		mem = "256Gi"
	}
	if pods == 0 {
		pods = 110
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(mem),
		corev1.ResourcePods:   resource.MustParse(strconv.Itoa(pods)),
		ResourceGPU:           *resource.NewQuantity(int64(g.GPUs), resource.DecimalSI),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        g.Name,
			Labels:      labels,
			Annotations: map[string]string{KwokAnnotation: "fake"},
		},
		Spec: corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{
			Capacity:    res,
			Allocatable: res.DeepCopy(),
			NodeInfo:    corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64"},
		},
	}
}

// AddGPUNode creates the node (the apiserver keeps a Node's status on create, so capacity and
// allocatable are set at once); kwok then marks it Ready and runs the pods scheduled to it.
func (e *Env) AddGPUNode(ctx context.Context, g GPUNode) (*corev1.Node, error) {
	if g.Name == "" {
		return nil, fmt.Errorf("GPUNode needs a Name")
	}
	n, err := e.Client.CoreV1().Nodes().Create(ctx, g.Node(), metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create node %s: %w", g.Name, err)
	}
	if got := n.Status.Allocatable[ResourceGPU]; got.Value() != int64(g.GPUs) {
		return nil, fmt.Errorf("node %s: allocatable %s = %s after create, want %d", g.Name, ResourceGPU, got.String(), g.GPUs)
	}
	return n, nil
}

// WaitNodeReady waits, by watch, until the node's Ready condition is True.
func (e *Env) WaitNodeReady(ctx context.Context, name string) error {
	var last *corev1.Node
	lw := e.listWatch(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		return e.Client.CoreV1().Nodes().List(ctx, o)
	}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		return e.Client.CoreV1().Nodes().Watch(ctx, o)
	})
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Node{}, nil, func(ev watch.Event) (bool, error) {
		n, ok := ev.Object.(*corev1.Node)
		if !ok {
			return false, nil
		}
		last = n
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		state := "not seen"
		if last != nil {
			state = fmt.Sprintf("conditions %v", last.Status.Conditions)
		}
		return fmt.Errorf("node %s not Ready (%s): %w\n%s", name, state, err, e.logTails(20, Kwok))
	}
	return nil
}

func (e *Env) listWatch(list cache.ListWithContextFunc, w cache.WatchFuncWithContext) *cache.ListWatch {
	return &cache.ListWatch{ListWithContextFunc: list, WatchFuncWithContext: w}
}

// NewNamespace creates a namespace with a generated name for one test and deletes it when the
// test ends (without waiting for the deletion to finish).
func (e *Env) NewNamespace(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := e.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			t.Logf("delete namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// AddReadyGPUNode adds a GPU node (or keeps the one a previous test run left) and waits until kwok
// reports it Ready, failing the test otherwise.
func (e *Env) AddReadyGPUNode(t testing.TB, g GPUNode) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.AddGPUNode(ctx, g); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if err := e.WaitNodeReady(ctx, g.Name); err != nil {
		t.Fatal(err)
	}
}
