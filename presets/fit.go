package presets

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Fit says how many nodes of a SKU a model needs and whether `count` nodes of it are enough.
type Fit struct {
	Model, SKU string
	// Method is "fixed" (the preset's GPUMemoryGiB/GPUCount), "estimated" (from its weights) or
	// "unknown" (the preset gives no size, so nothing can be checked).
	Method      string
	GPUsNeeded  int
	NodesNeeded int // 0 when the model cannot fit on this SKU at any count
	Fits        bool
	Reason      string // when !Fits: what is wrong and what to change
}

const (
	MethodFixed     = "fixed"
	MethodEstimated = "estimated"
	MethodUnknown   = "unknown"
)

// The estimator's constants, as Kaito's vLLM-era node estimator uses them.
const (
	// DefaultMaxModelLen is the context length assumed when the workspace does not set one.
	DefaultMaxModelLen = 2048
	// gpuMemoryUtilization is the share of each GPU vLLM is told to take (--gpu-memory-utilization).
	gpuMemoryUtilization = 0.84
	// runtimeReserveGiB is what CUDA context, activations and the server take before any KV cache.
	runtimeReserveGiB = 2.3
	// weightsOverhead and roomOverhead pad the weights and shrink each GPU's room for them, because
	// the files on disk and the tensors in memory are never quite the same size.
	weightsOverhead = 1.02
	roomOverhead    = 1.05
)

const bytesPerGiB = 1 << 30

// Fit checks whether count nodes of sku can serve m with a context of maxModelLen tokens
// (<= 0 means DefaultMaxModelLen; only weight-sized presets depend on it). A count below 1 is taken
// as Kaito's default of 1: rejecting a bad count is the validator's job, not the sizer's.
// Reason never names another SKU: callers that want to propose one use Suggest.
func (c *Catalog) Fit(m Model, sku SKU, count, maxModelLen int) Fit {
	if count < 1 {
		count = 1
	}
	if maxModelLen <= 0 {
		maxModelLen = DefaultMaxModelLen
	}
	f := Fit{Model: m.Name, SKU: sku.Name}
	if sku.GPUCount <= 0 || sku.GPUMemoryGiB <= 0 {
		// Only a hand-built SKU can get here (Load refuses them); don't divide by zero.
		f.Method = MethodUnknown
		f.Reason = fmt.Sprintf("%s has no GPUs on record, so %s cannot be placed on it", sku.Name, m.Name)
		return f
	}
	perGPU := sku.GPUMemoryGiB / float64(sku.GPUCount)

	var need string // what the model needs, for Reason
	switch {
	case m.GPUMemoryGiB > 0:
		f.Method = MethodFixed
		// Kaito's webhook: count × SKU memory ≥ preset memory and count × SKU GPUs ≥ preset GPUs.
		f.NodesNeeded = max(ceilDiv(m.GPUMemoryGiB, sku.GPUMemoryGiB), ceilDiv(float64(m.GPUCount), float64(sku.GPUCount)))
		f.GPUsNeeded = max(m.GPUCount, ceilDiv(m.GPUMemoryGiB, perGPU))
		need = fmt.Sprintf("%s needs %s of GPU memory on at least %s", m.Name, gib(m.GPUMemoryGiB), plural(m.GPUCount, "GPU"))
	case m.WeightsGiB > 0:
		f.Method = MethodEstimated
		usable := perGPU * gpuMemoryUtilization
		kvGiB := float64(maxModelLen) * float64(m.BytesPerToken) / float64(sku.GPUCount) / bytesPerGiB
		reserve := runtimeReserveGiB + kvGiB
		room := (usable - reserve) / roomOverhead
		if room <= 0 {
			f.Reason = fmt.Sprintf("%s cannot run on %s at any count: each %s GPU can give vLLM %.1fGi but the runtime and the KV cache for max-model-len %d take %.1fGi; lower max-model-len or pick a SKU with more memory per GPU",
				m.Name, sku.Name, sku.GPUModel, usable, maxModelLen, reserve)
			return f
		}
		f.GPUsNeeded = int(math.Floor(m.WeightsGiB*weightsOverhead/room)) + 1
		f.NodesNeeded = ceilDiv(float64(f.GPUsNeeded), float64(sku.GPUCount))
		need = fmt.Sprintf("%s needs %s of %s each (estimated from %s of weights at max-model-len %d)",
			m.Name, plural(f.GPUsNeeded, "GPU"), gib(perGPU), gib(m.WeightsGiB), maxModelLen)
	default:
		// Nothing to check against: let it through rather than block a preset we know little about.
		f.Method = MethodUnknown
		f.NodesNeeded = 1
		f.Fits = true
		return f
	}

	switch {
	case f.NodesNeeded > 1 && !m.MultiNode:
		f.Reason = fmt.Sprintf("%s; one %s has %s on %s and %s cannot span nodes: pick a SKU that holds it on one node",
			need, sku.Name, gib(sku.GPUMemoryGiB), plural(sku.GPUCount, "GPU"), m.Name)
	case count < f.NodesNeeded:
		f.Reason = fmt.Sprintf("%s; that is %d × %s but count is %d: set count to %d",
			need, f.NodesNeeded, sku.Name, count, f.NodesNeeded)
	default:
		f.Fits = true
	}
	return f
}

// Suggest lists the SKUs that hold m on the fewest nodes (one when any can), cheapest-looking
// first: fewest GPUs in all, then least GPU memory. Empty when no SKU can hold it.
func (c *Catalog) Suggest(m Model, maxModelLen int) []SKU {
	type candidate struct {
		sku   SKU
		nodes int
	}
	var cands []candidate
	best := 0
	for _, s := range c.skus {
		// Ask with an unbounded count: only whether some count works matters here.
		f := c.Fit(m, s, math.MaxInt32, maxModelLen)
		if !f.Fits {
			continue
		}
		cands = append(cands, candidate{s, f.NodesNeeded})
		if best == 0 || f.NodesNeeded < best {
			best = f.NodesNeeded
		}
	}
	cands = slices.DeleteFunc(cands, func(x candidate) bool { return x.nodes != best })
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Or(
			cmp.Compare(a.nodes*a.sku.GPUCount, b.nodes*b.sku.GPUCount),
			cmp.Compare(float64(a.nodes)*a.sku.GPUMemoryGiB, float64(b.nodes)*b.sku.GPUMemoryGiB),
			cmp.Compare(a.sku.Name, b.sku.Name),
		)
	})
	out := make([]SKU, len(cands))
	for i, x := range cands {
		out[i] = copySKU(x.sku)
	}
	return out
}

// ceilDiv rounds a/b up, forgiving float noise so that an exact fit (64/16) is not counted as 4.0000001.
func ceilDiv(a, b float64) int {
	return int(math.Ceil(a/b - 1e-9))
}

func gib(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "Gi" }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
