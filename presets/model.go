package presets

// KaitoVersion is the Kaito release kaito-sync follows: its catalog, its validation and the objects
// its controller creates. Following the next release is a change of the data files under data/ (and
// of render where the controller changed), checked by the conformance test.
const KaitoVersion = "v0.12.0"

// Release is what a Kaito release ships besides its model catalog: the images its controller puts
// into pods.
type Release struct {
	// Kaito is the release, e.g. "v0.12.0".
	Kaito string `json:"kaito"`
	// Registry holds Kaito's own images (PRESET_REGISTRY_NAME), e.g. "mcr.microsoft.com/aks/kaito".
	Registry string `json:"registry"`
	// BaseImage serves and tunes every preset: "<registry>/kaito-base:<tag>".
	BaseImage string `json:"baseImage"`
	// AdapterPuller pulls an adapter or tuning-input image into a volume (skopeo).
	AdapterPuller string `json:"adapterPuller"`
	// Pusher pushes a tuning result as an image (oras).
	Pusher string `json:"pusher"`
	// WeightsPuller pulls a model's weight artifact for tuning (oras).
	WeightsPuller string `json:"weightsPuller"`
	// DataDownloader fetches tuning input URLs (curl).
	DataDownloader string `json:"dataDownloader"`
	// Pause keeps a tuning pod's process namespace alive while the pusher runs.
	Pause string `json:"pause"`
}

// Runtime is an inference engine a preset can run on.
type Runtime string

const (
	RuntimeVLLM         Runtime = "vllm"
	RuntimeTransformers Runtime = "transformers"
)

// Model is one model Kaito serves: a catalog entry, or one made for a Hugging Face id that is not in
// the catalog (Catalog.HuggingFace).
type Model struct {
	// Name is the Hugging Face id as Kaito's catalog spells it ("microsoft/Phi-4-mini-instruct"),
	// or as the workspace wrote it for an id the catalog does not list. A legacy short name
	// ("phi-4-mini-instruct") is one of Aliases.
	Name string `json:"name"`
	// HuggingFaceID is what Kaito passes as --model: the id lower-cased, e.g.
	// "microsoft/phi-4-mini-instruct".
	HuggingFaceID string `json:"huggingFaceID"`
	// ServedName is --served-model-name: the last segment of the id, lower-cased ("gemma-3-4b-it").
	ServedName string `json:"servedName"`
	// Aliases are other names that resolve to this model (a legacy short name for an id).
	Aliases []string `json:"aliases,omitempty"`
	// Catalogued is false for a model made from a Hugging Face id Kaito's catalog does not list:
	// its sizes are unknown (Kaito reads them from huggingface.co, which a render must not).
	Catalogued bool `json:"catalogued"`

	// WeightsGiB is the size of the weights (Kaito's modelFileSize); 0 when unknown.
	WeightsGiB float64 `json:"weightsGiB,omitempty"`
	// DiskGiB is the weights volume's size: the weights plus 80Gi, rounded down (Kaito's
	// DiskStorageRequirement).
	DiskGiB int `json:"diskGiB"`
	// BytesPerToken is the KV cache of one token over all layers, for the node estimator.
	BytesPerToken int64 `json:"bytesPerToken,omitempty"`
	// TokenLimit is the model's context window (max_position_embeddings).
	TokenLimit    int      `json:"tokenLimit,omitempty"`
	Architectures []string `json:"architectures,omitempty"`
	QuantMethod   string   `json:"quantMethod,omitempty"`

	// Gated models need a Hugging Face token to download (presetOptions.modelAccessSecret).
	Gated bool `json:"gated,omitempty"`
	// MultiNode: the model may span nodes (Kaito v0.12.0: every vLLM model).
	MultiNode bool `json:"multiNode"`

	// VLLM holds the engine arguments Kaito's model generator gives this model, flag name → value
	// ("" for a bare flag), before the per-workspace ones (served name, parallelism, GPU memory
	// utilization, …): load_format, config_format, tokenizer_mode, trust-remote-code, dtype,
	// tool-call-parser, enable-auto-tool-choice, chat-template, reasoning-parser, ….
	VLLM map[string]string `json:"vllm"`
	// DisallowLoRA: vLLM cannot load adapters for this model.
	DisallowLoRA bool `json:"disallowLoRA,omitempty"`
	// Transformers is the transformers runtime's parameters; nil when Kaito does not serve the
	// model on transformers.
	Transformers *TransformersParams `json:"transformers,omitempty"`
	// Tuning is nil when Kaito cannot tune the model.
	Tuning *TuningParams `json:"tuning,omitempty"`

	// Needs of some architectures, as Kaito's controller derives them.
	RequiresCUDAToolkit bool `json:"requiresCUDAToolkit,omitempty"` // nvcc at runtime: an init container installs it
	RequiresDeepGEMM    bool `json:"requiresDeepGEMM,omitempty"`
	// KVCacheOffloadOff: Kaito turns off LMCache CPU offloading (hybrid KV cache manager or a
	// known LMCache bug): --kaito-kv-cache-cpu-memory-utilization=0.
	KVCacheOffloadOff bool `json:"kvCacheOffloadOff,omitempty"`
}

// TransformersParams are the transformers runtime's parameters of a model.
type TransformersParams struct {
	// Accelerate holds `accelerate launch` options, name → value ("" for a bare flag).
	Accelerate map[string]string `json:"accelerate"`
	// Run holds /workspace/tfs/inference_api.py options, name → value ("" for a bare flag), before
	// served_model_name, pretrained_model_name_or_path and allow_remote_files.
	Run map[string]string `json:"run"`
}

// TuningParams are what Kaito tunes a model with.
type TuningParams struct {
	// WeightsImage is the OCI artifact holding the weights, pulled by an init container:
	// "<registry>/kaito-<name>:<tag>".
	WeightsImage string `json:"weightsImage"`
	// Accelerate holds extra `accelerate launch` options of the trainer (num_processes is set
	// from the SKU), name → value.
	Accelerate map[string]string `json:"accelerate,omitempty"`
	// Run holds fine_tuning.py options, name → value.
	Run map[string]string `json:"run,omitempty"`
	// Env is extra environment of the trainer (DEFAULT_TARGET_MODULES for phi-3).
	Env map[string]string `json:"env,omitempty"`
	// GPUMemoryGiBPerMethod is the GPU memory one GPU needs per method ("lora", "qlora"), when
	// Kaito states it.
	GPUMemoryGiBPerMethod map[string]int `json:"gpuMemoryGiBPerMethod,omitempty"`
	// DiskGiB of the tuning job's weights volume, when Kaito states it.
	DiskGiB int `json:"diskGiB,omitempty"`
}

// Removed is a preset name an earlier Kaito release had and this one refuses.
type Removed struct {
	Name string `json:"name"`
	// Release is the Kaito release that removed it ("v0.12.0").
	Release string `json:"release"`
	// Replacement is the Hugging Face id that serves the same model, when there is one.
	Replacement string `json:"replacement,omitempty"`
}

// SKU is one Azure GPU VM size.
type SKU struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
	// GPUCount GPUs of GPUMemoryGiB in all (total over the VM's GPUs).
	GPUCount     int     `json:"gpuCount"`
	GPUMemoryGiB float64 `json:"gpuMemoryGiB"`
	// GPUModel as Kaito names it, e.g. "NVIDIA A100" (it keys vLLM's memory utilization).
	GPUModel string `json:"gpuModel"`
	// ComputeCapability is the GPU's CUDA compute capability (8.0 for A100); 0 when not NVIDIA.
	ComputeCapability float64 `json:"computeCapability,omitempty"`
	// NVMe: the VM has local NVMe disks Kaito puts the weights on (a volumeClaimTemplate of the
	// storage class kaito-local-nvme-disk).
	NVMe bool `json:"nvme,omitempty"`
	// Legacy: not in Kaito's SKU table (compute capability below 8.0). kaito-sync serves such
	// SKUs on the transformers runtime in float16, with a warning.
	Legacy bool `json:"legacy,omitempty"`
}
