package workspaces

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API versions and kinds kaito-sync reads.
const (
	Group         = "kaito.sh"
	V1Alpha1      = "kaito.sh/v1alpha1"
	V1Beta1       = "kaito.sh/v1beta1"
	KindWorkspace = "Workspace"

	// DefaultInstanceType is what Kaito v1alpha1 assumes when resource.instanceType is empty.
	DefaultInstanceType = "Standard_NC24ads_A100_v4"
	// DefaultAdapterStrength is Kaito's default for an adapter without strength.
	DefaultAdapterStrength = "1.0"
)

// Annotations users set on a workspace.
const (
	AnnotationRuntime         = "kaito.sh/runtime"
	AnnotationEnableLB        = "kaito.sh/enablelb"
	AnnotationBypassResources = "kaito.sh/bypass-resource-checks"
	AnnotationPerformanceMode = "kaito.sh/performance-mode"
	AnnotationNodeImageFamily = "kaito.sh/node-image-family"
	AnnotationUseLocalWeights = "kaito.sh/use-local-weights"
	AnnotationNodeClassName   = "kaito.sh/node-class-name"
)

// reservedSelectorLabels are the node labels Kaito v0.12.0 sets on the nodes it provisions for a
// workspace, RAG engine or inference set (api/v1beta1/labels.go, reservedSelectorLabelKeys). It
// drops them from a workspace's labelSelector, and refuses a matchLabels made only of them.
var reservedSelectorLabels = map[string]bool{
	"kaito.sh/workspace":                        true,
	"kaito.sh/ragengine":                        true,
	"kaito.sh/workspacenamespace":               true,
	"kaito.sh/ragenginenamespace":               true,
	"karpenter.kaito.sh/workspace-name":         true,
	"karpenter.kaito.sh/workspace-namespace":    true,
	"karpenter.kaito.sh/inferenceset":           true,
	"karpenter.kaito.sh/inferenceset-namespace": true,
}

// Workspace is the one internal model of a Kaito Workspace, whichever version it was written in.
// Kaito puts resource, inference and tuning at the top level beside metadata: there is no spec.
// The JSON tags are the wire format of both versions; fields that exist in only one version are
// checked by the decoder.
type Workspace struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Resource   ResourceSpec      `json:"resource"`
	Inference  *InferenceSpec    `json:"inference,omitempty"`
	Tuning     *TuningSpec       `json:"tuning,omitempty"`
	// Status is written by Kaito, not by users; it is accepted and ignored when read from Git.
	Status any `json:"status,omitempty"`

	// Source is where the workspace was declared.
	Source Pos `json:"-"`
	// fields maps field paths to their place in the file, so problems found after decoding can
	// still name a line.
	fields map[string]Pos
	// placeholders maps fields to string values that look copied from the docs.
	placeholders map[string]string
}

// ResourceSpec describes the nodes a workspace runs on.
type ResourceSpec struct {
	// Count is the number of nodes; nil means 1.
	Count          *int                  `json:"count,omitempty"`
	InstanceType   string                `json:"instanceType,omitempty"`
	LabelSelector  *metav1.LabelSelector `json:"labelSelector,omitempty"`
	PreferredNodes []string              `json:"preferredNodes,omitempty"`
	// Partition exists only in kaito.sh/v1beta1 (bring-your-own nodes split by MIG or accelerator).
	Partition *PartitionSpec `json:"partition,omitempty"`
}

// PartitionSpec splits bring-your-own GPUs (v1beta1).
type PartitionSpec struct {
	Mode    string `json:"mode"`
	Profile string `json:"profile,omitempty"`
	Count   *int   `json:"count,omitempty"`
}

// InferenceSpec serves a model: a preset or a user's pod template.
type InferenceSpec struct {
	Preset   *PresetSpec             `json:"preset,omitempty"`
	Template *corev1.PodTemplateSpec `json:"template,omitempty"`
	// Config names a ConfigMap holding inference_config.yaml.
	Config   string        `json:"config,omitempty"`
	Adapters []AdapterSpec `json:"adapters,omitempty"`
}

// PresetSpec names a model preset.
type PresetSpec struct {
	Name          string         `json:"name"`
	AccessMode    string         `json:"accessMode,omitempty"`
	PresetOptions *PresetOptions `json:"presetOptions,omitempty"`
}

// PresetOptions carry what private or gated presets need.
type PresetOptions struct {
	Image            string   `json:"image,omitempty"`
	ImagePullSecrets []string `json:"imagePullSecrets,omitempty"`
	// ModelAccessSecret names a Secret with key HF_TOKEN for gated models.
	ModelAccessSecret string `json:"modelAccessSecret,omitempty"`
}

// AdapterSpec is one LoRA adapter loaded beside the model.
type AdapterSpec struct {
	Source *DataSource `json:"source,omitempty"`
	// Strength is a string in Kaito's API ("0.0".."1.0"); nil means DefaultAdapterStrength.
	Strength *string `json:"strength,omitempty"`
}

// DataSource is where adapters and tuning input come from.
type DataSource struct {
	Name             string               `json:"name,omitempty"`
	URLs             []string             `json:"urls,omitempty"`
	Image            string               `json:"image,omitempty"`
	ImagePullSecrets []string             `json:"imagePullSecrets,omitempty"`
	Volume           *corev1.VolumeSource `json:"volumeSource,omitempty"`
}

// DataDestination is where a tuning job puts its result.
type DataDestination struct {
	Image           string               `json:"image,omitempty"`
	ImagePushSecret string               `json:"imagePushSecret,omitempty"`
	Volume          *corev1.VolumeSource `json:"volumeSource,omitempty"`
}

// TuningSpec fine-tunes a preset.
type TuningSpec struct {
	Preset *PresetSpec      `json:"preset,omitempty"`
	Method string           `json:"method,omitempty"`
	Config string           `json:"config,omitempty"`
	Input  *DataSource      `json:"input,omitempty"`
	Output *DataDestination `json:"output,omitempty"`
}

// Tuning methods.
const (
	MethodLoRA  = "lora"
	MethodQLoRA = "qlora"
)

// Key is "namespace/name".
func (w *Workspace) Key() string { return w.Metadata.Namespace + "/" + w.Metadata.Name }

// NodeCount is resource.count with Kaito's default applied.
func (w *Workspace) NodeCount() int {
	if w.Resource.Count == nil {
		return 1
	}
	return *w.Resource.Count
}

// InstanceType is resource.instanceType with the v1alpha1 default applied; empty in v1beta1 means
// bring-your-own nodes.
func (w *Workspace) InstanceType() string {
	if w.Resource.InstanceType == "" && w.APIVersion == V1Alpha1 {
		return DefaultInstanceType
	}
	return w.Resource.InstanceType
}

// PresetName is the model preset of an inference or tuning workspace, "" for a template.
func (w *Workspace) PresetName() string {
	switch {
	case w.Inference != nil && w.Inference.Preset != nil:
		return w.Inference.Preset.Name
	case w.Tuning != nil && w.Tuning.Preset != nil:
		return w.Tuning.Preset.Name
	}
	return ""
}

// Locate returns the place of a field path, falling back to its nearest ancestor that was written
// in the file, then to the document itself.
func (w *Workspace) Locate(field string) Pos {
	for f := field; f != ""; f = parentField(f) {
		if p, ok := w.fields[f]; ok {
			return p
		}
	}
	return w.Source
}
