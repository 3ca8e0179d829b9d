package workspaces

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kaito-sync/kaito-sync/presets"
)

// Partition modes.
const (
	PartitionMIG         = "mig"
	PartitionAccelerator = "accelerator"
)

// migProfileMemory lists the MIG profiles Kaito v0.12.0 knows (pkg/utils/mig/mig.go, knownProfiles)
// with the memory of one slice, which Kaito reads from the name: the GB figure rounded down, as Gi
// (pkg/utils/common.go, GetMIGGPUConfig).
var migProfileMemory = func() map[string]int {
	profiles := []string{
		"1g.6gb", "2g.12gb", "4g.24gb", // A30
		"1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb", // A100 40GB
		"1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb", // A100 80GB, H100 80GB
		"1g.12gb", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb", // H100 94GB
		"3g.48gb", "4g.48gb", "7g.96gb", // GH200
		"1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb", // H200
		"1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb", // B200
	}
	out := map[string]int{}
	for _, p := range profiles {
		m := migProfileSyntax.FindStringSubmatch(p)
		gb, _ := strconv.ParseFloat(m[2], 64)
		out[p] = int(math.Floor(gb))
	}
	return out
}()

var migProfileSyntax = regexp.MustCompile(`^(\d+)g\.([\d.]+)gb$`)

// migProfileGiB is the memory of one slice of a known MIG profile, 0 for an unknown one.
func migProfileGiB(profile string) int { return migProfileMemory[profile] }

func migProfiles() []string {
	return sortedKeys(migProfileMemory)
}

// chooseRuntime settles the engine that serves the preset, as render does: vLLM, unless the
// kaito.sh/runtime annotation is exactly "transformers" (Kaito's GetWorkspaceRuntimeName) or the GPU
// is below compute capability 8.0, which Kaito's vLLM cannot use and kaito-sync serves on
// transformers in float16. The model must have transformers parameters to run on transformers
// (PresetParam.Validate).
func (v *validator) chooseRuntime(m *presets.Model) {
	ann, explicit := v.annotation(AnnotationRuntime)
	field := annotationField(AnnotationRuntime)
	v.runtime = presets.RuntimeVLLM
	if ann == string(presets.RuntimeTransformers) {
		v.runtime = presets.RuntimeTransformers
	}
	if s := v.sku; s != nil && s.Legacy {
		v.warnf("resource.instanceType",
			"Kaito %s does not list %s (%s, compute capability %.1f, below the 8.0 its vLLM needs): kaito-sync serves it on the transformers runtime in float16; pick an A10, A100 or H100 size to run on vLLM as Kaito does",
			presets.KaitoVersion, s.Name, s.GPUModel, s.ComputeCapability)
		if explicit && ann == string(presets.RuntimeVLLM) {
			v.errorf(field, "%s (%s) cannot run vLLM: remove %s: vllm to serve it on transformers, or pick a SKU of compute capability 8.0 or more (`kaito-sync skus`)",
				s.Name, s.GPUModel, AnnotationRuntime)
		}
		v.runtime = presets.RuntimeTransformers
	}
	if v.runtime != presets.RuntimeTransformers || m.Transformers != nil {
		return
	}
	if ann == string(presets.RuntimeTransformers) {
		v.errorf(field, "preset %q does not run on transformers in Kaito %s (it runs on vllm only): remove %s: transformers",
			v.ws.PresetName(), presets.KaitoVersion, AnnotationRuntime)
		return
	}
	v.errorf("resource.instanceType", "preset %q has no transformers runtime in Kaito %s, and %s (%s) cannot run vLLM: pick a SKU of compute capability 8.0 or more%s",
		v.ws.PresetName(), presets.KaitoVersion, v.sku.Name, v.sku.GPUModel, v.skusThatFit(m, presets.RuntimeVLLM))
}

// sizing checks that the model fits its GPUs the way its runtime needs.
func (v *validator) sizing(m *presets.Model) {
	switch {
	case v.ws.Resource.Partition != nil:
		v.migFit(m)
	case v.sku == nil:
		// Bring-your-own nodes: Kaito sizes them from their labels, which only the cluster has.
	case v.runtime == presets.RuntimeTransformers:
		v.transformersFit(m)
	default:
		v.vllmFit(m)
	}
}

// fitProblem reports that the model does not fit: an error, or a warning when the user bypassed
// Kaito's resource checks.
func (v *validator) fitProblem(field, msg string) {
	if v.bypassed() {
		v.warnf(field, "%s (check bypassed by %s)", msg, AnnotationBypassResources)
		return
	}
	v.errorf(field, "%s", msg)
}

// vllmFit follows Kaito v0.12.0 on vLLM: its node estimator (presets.EstimateNodes) replaces
// resource.count, so a count that differs is only worth a warning. The one certain failure is a GPU
// too small for the runtime and the KV cache at any count.
func (v *validator) vllmFit(m *presets.Model) {
	model := *m
	model.MultiNode = true // Kaito v0.12.0 spreads any model over nodes with vLLM
	maxModelLen := v.maxModelLen()
	f := v.cat.Fit(model, *v.sku, math.MaxInt32, maxModelLen)
	if f.Method != presets.MethodEstimated {
		return // a model without a size (an uncatalogued Hugging Face id): nothing to check
	}
	if !f.Fits {
		v.fitProblem("resource.instanceType", f.Reason+v.skusThatFit(&model, presets.RuntimeVLLM))
		return
	}
	count := v.ws.NodeCount()
	if count < 1 || f.NodesNeeded == count {
		return // a count below 1 has its own warning
	}
	field, what := "resource.count", fmt.Sprintf("count %d", count)
	if v.ws.Resource.Count == nil {
		field, what = "resource.instanceType", "the default count of 1"
	}
	if maxModelLen <= 0 {
		maxModelLen = presets.DefaultMaxModelLen
	}
	v.warnf(field, "Kaito runs %d × %s (%s is replaced by its estimate: %s needs %s of %s for %s of weights at max-model-len %d); set count to %d to say so",
		f.NodesNeeded, v.sku.Name, what, m.Name, plural(f.GPUsNeeded, "GPU"), gib(v.sku.GPUMemoryGiB/float64(v.sku.GPUCount)),
		gib(m.WeightsGiB), maxModelLen, f.NodesNeeded)
}

// transformersFit applies Kaito v0.12.0's two memory rules of the transformers runtime
// (validateCreateWithInference): the weights must fit one node's GPU memory, since transformers
// cannot span nodes (not bypassable), and count nodes must hold them (bypassable). Kaito serves
// transformers on resource.count nodes as written.
func (v *validator) transformersFit(m *presets.Model) {
	if m.Transformers == nil || m.WeightsGiB <= 0 {
		return
	}
	s := v.sku
	if m.WeightsGiB > s.GPUMemoryGiB {
		alt := "; or run it on vLLM, which spreads it over nodes: remove " + AnnotationRuntime + ": transformers"
		if s.Legacy {
			alt = "; vLLM, which spreads it over nodes, needs a GPU of compute capability 8.0 or more"
		}
		v.errorf("resource.instanceType", "the transformers runtime cannot spread a model over nodes: %s has %s of weights but one %s has %s of GPU memory; pick a SKU with more%s%s",
			m.Name, gib(m.WeightsGiB), s.Name, gib(s.GPUMemoryGiB), v.skusThatFit(m, presets.RuntimeTransformers), alt)
		return
	}
	if count := v.ws.NodeCount(); float64(count)*s.GPUMemoryGiB < m.WeightsGiB {
		v.fitProblem("resource.count", fmt.Sprintf("insufficient GPU memory: %d × %s has %s in all but %s needs at least %s for its weights; set count to 1",
			count, s.Name, gib(float64(max(count, 0))*s.GPUMemoryGiB), m.Name, gib(m.WeightsGiB)))
	}
}

// migFit is Kaito's coarse MIG check (validateMIGModelFit): the weights must fit one slice.
func (v *validator) migFit(m *presets.Model) {
	p := v.ws.Resource.Partition
	slice := migProfileGiB(p.Profile)
	if p.Mode != PartitionMIG || slice == 0 || m.WeightsGiB <= 0 || m.WeightsGiB <= float64(slice) {
		return
	}
	var bigger []string
	for _, name := range migProfiles() {
		if float64(migProfileMemory[name]) >= m.WeightsGiB {
			bigger = append(bigger, name)
		}
	}
	slices.SortStableFunc(bigger, func(a, b string) int { return migProfileMemory[a] - migProfileMemory[b] })
	hint := "; no MIG slice holds it: use whole GPUs"
	if len(bigger) > 0 {
		hint = "; profiles that hold it: " + strings.Join(bigger[:min(3, len(bigger))], ", ")
	}
	v.fitProblem("resource.partition.profile", fmt.Sprintf("%s needs at least %s for its weights, more than the %dGi of a %s MIG slice%s",
		m.Name, gib(m.WeightsGiB), slice, p.Profile, hint))
}

// skusThatFit names up to three SKUs of Kaito's table that hold the model on runtime rt, as
// "; SKUs that fit: a, b, c", or "".
func (v *validator) skusThatFit(m *presets.Model, rt presets.Runtime) string {
	var alts []presets.SKU
	if rt == presets.RuntimeTransformers {
		for _, s := range v.cat.SKUs() {
			if !s.Legacy && s.ComputeCapability > 0 && s.GPUMemoryGiB >= m.WeightsGiB {
				alts = append(alts, s)
			}
		}
		slices.SortStableFunc(alts, func(a, b presets.SKU) int {
			if a.GPUCount != b.GPUCount {
				return a.GPUCount - b.GPUCount
			}
			return int(a.GPUMemoryGiB - b.GPUMemoryGiB)
		})
	} else {
		alts = v.cat.Suggest(*m, v.maxModelLen())
	}
	if len(alts) == 0 {
		return ""
	}
	var names []string
	for _, s := range alts[:min(3, len(alts))] {
		names = append(names, s.Name)
	}
	return "; SKUs that fit: " + strings.Join(names, ", ")
}

func gib(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "Gi" }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
