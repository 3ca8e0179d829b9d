package render

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// Options say what the cluster has of what Kaito's operator and chart set up. Kaito's own
// behaviour is KaitoDefaults; the zero value is a plain cluster.
type Options struct {
	// ProvisionedNodeLabels: the GPU nodes of a workspace with an instanceType are made for it and
	// carry kaito.sh/workspace and kaito.sh/workspacenamespace (as Kaito's node provisioner and
	// kaito-sync's AKS provisioner label them), so its pods require them, which keeps them off
	// another workspace's nodes. Off, pods require only the labelSelector's labels.
	ProvisionedNodeLabels bool
	// LocalNVMe: the cluster has the StorageClass kaito-local-nvme-disk (Kaito's chart installs
	// it), so on SKUs with local NVMe disks the weights go to a volumeClaimTemplate of that class.
	// Off, they go to an emptyDir, as Kaito does when it finds no such class.
	LocalNVMe bool
}

// KaitoDefaults renders what Kaito's operator creates with node auto-provisioning and its chart's
// StorageClass: `render`, plan and hydrate targets, whose cluster is not known.
var KaitoDefaults = Options{ProvisionedNodeLabels: true, LocalNVMe: true}

// gpuConfig is one node's GPUs, as Kaito sizes a workload by them.
type gpuConfig struct {
	count     int
	memoryGiB float64 // all GPUs of the node; 0 when unknown
	model     string  // "NVIDIA A100"; "" when unknown
	nvme      bool
	legacy    bool // compute capability below 8.0: served on transformers in float16
}

// input is what a render reads, gathered and checked.
type input struct {
	ws         *workspaces.Workspace
	companions []*workspaces.Companion          // as given, sorted by key
	byRef      map[string]*workspaces.Companion // "Kind/name" → companion
	release    presets.Release
	opts       Options
	model      *presets.Model // nil for template workspaces
	sku        *presets.SKU   // nil for bring-your-own nodes
	runtime    presets.Runtime
	gpu        gpuConfig
	nodes      int // Kaito's status.targetNodeCount: replicas of an inference workload
}

func newInput(cat *presets.Catalog, opts Options, ws *workspaces.Workspace, companions []*workspaces.Companion) (*input, error) {
	if ws.Metadata.Name == "" || ws.Metadata.Namespace == "" {
		return nil, errors.New("the workspace needs a name and a namespace")
	}
	in := &input{ws: ws, byRef: map[string]*workspaces.Companion{}, release: cat.Release(), opts: opts}
	for _, c := range companions {
		if c == nil {
			continue
		}
		switch c.Kind {
		case "ConfigMap", "PersistentVolumeClaim", "Secret":
		default:
			return nil, fmt.Errorf("%s %s cannot be rendered with a workspace", c.Kind, c.Name)
		}
		if c.Namespace != ws.Metadata.Namespace {
			return nil, fmt.Errorf("%s is not in the workspace's namespace", c.Key())
		}
		ref := c.Kind + "/" + c.Name
		if _, dup := in.byRef[ref]; dup {
			return nil, fmt.Errorf("%s is given twice", c.Key())
		}
		in.byRef[ref] = c
		in.companions = append(in.companions, c)
	}
	slices.SortFunc(in.companions, func(a, b *workspaces.Companion) int { return strings.Compare(a.Key(), b.Key()) })

	switch {
	case (ws.Inference == nil) == (ws.Tuning == nil):
		return nil, errors.New("a workspace has exactly one of inference and tuning")
	case ws.Inference != nil && (ws.Inference.Preset == nil) == (ws.Inference.Template == nil):
		return nil, errors.New("inference has exactly one of preset and template")
	case ws.Tuning != nil && ws.Tuning.Preset == nil:
		return nil, errors.New("tuning needs a preset")
	}
	in.gpu = gpuConfig{count: 1}
	if it := ws.InstanceType(); it != "" {
		sku, ok := cat.SKU(it)
		if !ok {
			return nil, fmt.Errorf("unknown instance type %q", it)
		}
		in.sku = &sku
		in.gpu = gpuConfig{count: sku.GPUCount, memoryGiB: sku.GPUMemoryGiB, model: sku.GPUModel, nvme: sku.NVMe && opts.LocalNVMe, legacy: sku.Legacy}
	} else if p := ws.Resource.Partition; p != nil && p.Count != nil && *p.Count > 0 {
		// Bring-your-own nodes: Kaito reads the GPUs from the node's labels; a render has no
		// cluster, so it takes the partition's count, else one GPU.
		in.gpu.count = *p.Count
	}
	if name := ws.PresetName(); name != "" {
		m, err := cat.Resolve(name)
		if err != nil {
			return nil, err
		}
		in.model = &m
	}
	if ws.Inference != nil {
		if err := in.chooseRuntime(); err != nil {
			return nil, err
		}
	}
	in.nodes = in.targetNodes()
	if in.nodes < 1 {
		n, err := presets.EstimateNodes(*in.model, in.gpu.count, in.gpu.memoryGiB, ws.NodeCount(), in.maxModelLen())
		if err != nil {
			return nil, err
		}
		in.nodes = n
	}
	return in, nil
}

// targetNodes is the node count Kaito gives the workload (its status.targetNodeCount): 1 for
// tuning; for a preset on vLLM with a known SKU, 0, meaning Kaito's node estimate, which replaces
// resource.count; else resource.count, at least 1.
func (in *input) targetNodes() int {
	if in.ws.Tuning != nil {
		return 1
	}
	if in.model != nil && in.runtime == presets.RuntimeVLLM && in.gpu.memoryGiB > 0 {
		return 0
	}
	return max(in.ws.NodeCount(), 1)
}

// NodeCount is the number of nodes Kaito runs ws on (targetNodes, with the estimate made), for the
// provisioner, the status and plan; companions are those given to Render (the inference config's
// max-model-len sizes the estimate). resource.count (at least 1) when the workspace cannot be
// rendered.
func NodeCount(cat *presets.Catalog, ws *workspaces.Workspace, companions []*workspaces.Companion) int {
	in, err := newInput(cat, Options{}, ws, companions)
	if err != nil {
		return max(ws.NodeCount(), 1)
	}
	return in.nodes
}

// maxModelLen is the context Kaito's controller sizes nodes for: max-model-len of the workspace's
// inference config when the repository holds it, else 0 (the estimator's 2048). A config that
// exists in the cluster only is not read: a render reads no cluster.
func (in *input) maxModelLen() int {
	if in.ws.Inference == nil || in.ws.Inference.Config == "" {
		return 0
	}
	c := in.byRef["ConfigMap/"+in.ws.Inference.Config]
	if c == nil {
		return 0
	}
	cm, ok := c.Object.(*corev1.ConfigMap)
	if !ok {
		return 0
	}
	return workspaces.ExplicitMaxModelLen(cm.Data[workspaces.InferenceConfigKey])
}

// chooseRuntime picks the inference engine: the kaito.sh/runtime annotation, else vLLM; GPUs below
// compute capability 8.0 cannot run Kaito's vLLM, so they get transformers (a decision of
// kaito-sync's: Kaito v0.12.0 refuses those SKUs).
func (in *input) chooseRuntime() error {
	in.runtime = presets.RuntimeVLLM
	if in.ws.Metadata.Annotations[workspaces.AnnotationRuntime] == string(presets.RuntimeTransformers) || in.gpu.legacy {
		in.runtime = presets.RuntimeTransformers
	}
	if in.runtime == presets.RuntimeTransformers && in.model != nil && in.model.Transformers == nil {
		if in.gpu.legacy {
			return fmt.Errorf("preset %s has no transformers runtime in Kaito %s, and %s (%s) cannot run vLLM", in.ws.PresetName(), presets.KaitoVersion, in.sku.Name, in.sku.GPUModel)
		}
		return fmt.Errorf("preset %s does not support inference with the transformers runtime in Kaito %s", in.ws.PresetName(), presets.KaitoVersion)
	}
	return nil
}

func (in *input) presetOptions() workspaces.PresetOptions {
	p := in.ws.Inference
	if p != nil && p.Preset != nil && p.Preset.PresetOptions != nil {
		return *p.Preset.PresetOptions
	}
	return workspaces.PresetOptions{}
}
