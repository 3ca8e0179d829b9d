package presets

import (
	"fmt"
	"math"
)

// Kaito v0.12.0's node estimator (pkg/workspace/estimator/nodesestimator/estimator.go). It sizes
// every vLLM workspace: the controller writes its answer to status.targetNodeCount and provisions
// that many nodes, whatever resource.count says. (The transformers runtime takes resource.count as
// it is.)
//
// maxModelLen: the controller (UpdateWorkspaceTargetNodeCount in
// pkg/workspace/controllers/workspace_controller.go) reads it from the workspace's inference
// ConfigMap, key inference_config.yaml, as the first "max-model-len:" line inside its "vllm:"
// block, when that is a positive integer (pkg/utils/config_parser.go, ParseExplicitMaxModelLen);
// NodeEstimateRequestFromWorkspace (pkg/utils/workspace/helper.go) itself leaves it unset, and the
// estimator then takes 2048. A missing ConfigMap, a missing key, "auto" or a non-number all mean
// 2048 too.
const (
	// DefaultMaxModelLen is the context length the estimator assumes when the workspace's
	// inference config does not set max-model-len.
	DefaultMaxModelLen = 2048

	// estimatorGPUMemoryUtilization is the share of a GPU the estimator counts on. It is 0.84 on
	// every GPU, even where vLLM is given less (GPUMemoryUtilization).
	estimatorGPUMemoryUtilization = 0.84
	// weightExpansion: weights take about 2% more memory loaded than on disk.
	weightExpansion = 1.02
	// baseOverheadGiB: CUDA context, NCCL buffers, activations and CUDA graphs of a small model.
	baseOverheadGiB = 2.3
	// overheadPerWeight: the part of the runtime overhead that grows with each GPU's weight share.
	overheadPerWeight = 0.05

	bytesPerGiB = 1 << 30
)

// estimate is the estimator's working, kept for Fit's messages.
type estimate struct {
	perGPU       float64 // bytes of one GPU
	usable       float64 // bytes of one GPU vLLM may take
	reserve      float64 // bytes of one GPU taken before any weights: base overhead + KV cache share
	roomPerGPU   float64 // bytes of one GPU left for weights
	weights      float64 // bytes of the weights once loaded
	gpus, nodes  int
	maxModelLen  int
	gpusPerNode  int
	tooSmall     bool
	needsNodes   bool // nodes > 1 and the model cannot span nodes
	unsizedModel bool // the model has no size: nothing was computed
}

// weightBytes is the weights' size in bytes as Kaito reads "<size>Gi" with resource.Quantity:
// exact for the catalog's two decimals, rounded up to a whole byte.
func weightBytes(gib float64) int64 {
	if h := math.Round(gib * 100); math.Abs(h-gib*100) < 1e-6 {
		return (int64(h)*bytesPerGiB + 99) / 100
	}
	return int64(math.Ceil(gib * bytesPerGiB))
}

func estimateOf(m Model, gpusPerNode int, nodeGPUMemoryGiB float64, maxModelLen int) estimate {
	if maxModelLen <= 0 {
		maxModelLen = DefaultMaxModelLen
	}
	e := estimate{maxModelLen: maxModelLen, gpusPerNode: gpusPerNode}
	if m.WeightsGiB <= 0 || gpusPerNode <= 0 || nodeGPUMemoryGiB <= 0 {
		e.unsizedModel = true
		return e
	}
	// Kaito divides the node's GPU memory in bytes by the GPU count as integers.
	nodeBytes := int64(math.Round(nodeGPUMemoryGiB * bytesPerGiB))
	e.perGPU = float64(nodeBytes / int64(gpusPerNode))
	e.usable = e.perGPU * estimatorGPUMemoryUtilization
	e.weights = float64(weightBytes(m.WeightsGiB)) * weightExpansion
	kvCache := float64(int64(maxModelLen)*m.BytesPerToken) / float64(gpusPerNode)
	e.reserve = baseOverheadGiB*bytesPerGiB + kvCache
	if e.usable <= e.reserve {
		e.tooSmall = true
		return e
	}
	e.roomPerGPU = (e.usable - e.reserve) / (1 + overheadPerWeight)
	e.gpus = int(e.weights/e.roomPerGPU) + 1
	e.nodes = (e.gpus + gpusPerNode - 1) / gpusPerNode
	e.needsNodes = e.nodes > 1 && !m.MultiNode
	return e
}

// EstimateNodes is Kaito v0.12.0's node estimator: how many nodes of gpusPerNode GPUs with
// nodeGPUMemoryGiB of GPU memory in all the model needs at a context of maxModelLen tokens (≤0:
// DefaultMaxModelLen). The estimate replaces the requested count (resource.count, ≤0 → 1), which
// is only returned when there is nothing to estimate from: a model without a size (an
// uncatalogued Hugging Face id) or a configuration without GPU memory. It fails when one GPU
// cannot even hold the runtime and the KV cache, and when the model would need more than one node
// but cannot span nodes.
func EstimateNodes(m Model, gpusPerNode int, nodeGPUMemoryGiB float64, requested, maxModelLen int) (int, error) {
	if requested <= 0 {
		requested = 1
	}
	e := estimateOf(m, gpusPerNode, nodeGPUMemoryGiB, maxModelLen)
	switch {
	case e.unsizedModel:
		return requested, nil
	case e.tooSmall:
		return 0, fmt.Errorf("a GPU of %s is too small for %s: vLLM may take %s of it, but the runtime (%sGi) and the KV cache share for max-model-len %d take %s before any weights",
			gibOf(e.perGPU), m.Name, gibOf(e.usable), fmtGiB(baseOverheadGiB), e.maxModelLen, gibOf(e.reserve))
	case e.needsNodes:
		return 0, fmt.Errorf("%s needs %d nodes of %d GPUs but cannot be spread over nodes", m.Name, e.nodes, gpusPerNode)
	}
	return e.nodes, nil
}

// GPUMemoryUtilization is the --gpu-memory-utilization Kaito v0.12.0 gives vLLM on a GPU model
// (SKU.GPUModel): "0.82" on the 24Gi "NVIDIA A10", which needs the headroom, else "0.84"
// (pkg/model/interface.go, gpuMemoryUtilizationByGPUModel).
func GPUMemoryUtilization(gpuModel string) string {
	if gpuModel == "NVIDIA A10" {
		return "0.82"
	}
	return "0.84"
}

func gibOf(bytes float64) string { return fmtGiB(bytes/bytesPerGiB) + "Gi" }

func fmtGiB(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s
}
