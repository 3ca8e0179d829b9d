package presets

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Fit says how many nodes of a SKU a model needs, by Kaito's node estimator, and whether `count`
// nodes of it are enough.
type Fit struct {
	Model, SKU string
	// Method is "estimated" (by EstimateNodes, from the model's weights) or "unknown" (the model
	// has no size, as for an uncatalogued Hugging Face id, so nothing can be checked).
	Method      string
	GPUsNeeded  int
	NodesNeeded int // 0 when the model cannot run on this SKU at any count
	Fits        bool
	Reason      string // when !Fits: what is wrong and what to change
}

const (
	MethodEstimated = "estimated"
	MethodUnknown   = "unknown"
)

// Fit checks whether count nodes of sku can serve m with a context of maxModelLen tokens
// (<= 0 means DefaultMaxModelLen). A count below 1 is taken as Kaito's default of 1: rejecting a
// bad count is the validator's job, not the sizer's. Reason never names another SKU: callers that
// want to propose one use Suggest.
//
// Kaito v0.12.0 provisions the estimate whatever count says; kaito-sync provisions count, so a
// count below the estimate does not fit.
func (c *Catalog) Fit(m Model, sku SKU, count, maxModelLen int) Fit {
	if count < 1 {
		count = 1
	}
	f := Fit{Model: m.Name, SKU: sku.Name}
	if sku.GPUCount <= 0 || sku.GPUMemoryGiB <= 0 {
		// Only a hand-built SKU can get here (Load refuses them).
		f.Method = MethodUnknown
		f.Reason = fmt.Sprintf("%s has no GPUs on record, so %s cannot be placed on it", sku.Name, m.Name)
		return f
	}
	e := estimateOf(m, sku.GPUCount, sku.GPUMemoryGiB, maxModelLen)
	if e.unsizedModel {
		// Nothing to check against: let it through rather than block a model we know little about.
		f.Method = MethodUnknown
		f.NodesNeeded = count
		f.Fits = true
		return f
	}
	f.Method = MethodEstimated
	if e.tooSmall {
		f.Reason = fmt.Sprintf("%s cannot run on %s at any count: each %s GPU can give vLLM %s but the runtime and the KV cache for max-model-len %d take %s; lower max-model-len or pick a SKU with more memory per GPU",
			m.Name, sku.Name, sku.GPUModel, gibOf(e.usable), e.maxModelLen, gibOf(e.reserve))
		return f
	}
	f.GPUsNeeded, f.NodesNeeded = e.gpus, e.nodes
	need := fmt.Sprintf("Kaito's estimator gives %s %s of %s (%s of weights at max-model-len %d)",
		m.Name, plural(e.gpus, "GPU"), gibOf(e.perGPU), gib(m.WeightsGiB), e.maxModelLen)
	switch {
	case e.needsNodes:
		f.Reason = fmt.Sprintf("%s; one %s has %s on %s and %s cannot span nodes: pick a SKU that holds it on one node",
			need, sku.Name, gib(sku.GPUMemoryGiB), plural(sku.GPUCount, "GPU"), m.Name)
	case count < e.nodes:
		f.Reason = fmt.Sprintf("%s; that is %d × %s but count is %d: set count to %d",
			need, e.nodes, sku.Name, count, e.nodes)
	default:
		f.Fits = true
	}
	return f
}

// Suggest lists the SKUs of Kaito's table that hold m on the fewest nodes (one when any can),
// cheapest-looking first: fewest GPUs in all, then least GPU memory. It leaves out legacy SKUs,
// which Kaito v0.12.0 refuses, and GPUs without a CUDA compute capability, which the CUDA-only
// kaito-base image cannot use. Empty when no SKU can hold it.
func (c *Catalog) Suggest(m Model, maxModelLen int) []SKU {
	type candidate struct {
		sku   SKU
		nodes int
	}
	var cands []candidate
	best := 0
	for _, s := range c.skus {
		if s.Legacy || s.ComputeCapability == 0 {
			continue
		}
		// Ask with an unbounded count: only whether some count works matters here.
		f := c.Fit(m, s, math.MaxInt32, maxModelLen)
		if !f.Fits || f.Method != MethodEstimated {
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

func gib(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "Gi" }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
