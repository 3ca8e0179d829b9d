package presets

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

// Worked examples. Fixed presets: nodes = max(⌈mem ÷ SKU mem⌉, ⌈GPUs ÷ SKU GPUs⌉).
// Weight-sized presets, per GPU: usable = SKU mem ÷ GPUs × 0.84; KV = maxlen × bytesPerToken ÷ GPUs;
// room = (usable − 2.3 − KV) ÷ 1.05; GPUs = ⌊weights × 1.02 ÷ room⌋ + 1; nodes = ⌈GPUs ÷ SKU GPUs⌉.
func TestFit(t *testing.T) {
	tests := []struct {
		name        string
		model, sku  string
		count, len  int
		method      string
		gpus, nodes int
		fits        bool
		reason      string // a part of Reason when !fits
	}{
		// 9Gi ÷ 16Gi → 1 node; 1 GPU ÷ 1 → 1 node.
		{"phi-3-mini fits one V100", "phi-3-mini-4k-instruct", "Standard_NC6s_v3", 1, 0, MethodFixed, 1, 1, true, ""},
		// 16Gi ÷ 16Gi = exactly 1: the rule is ≥, not >.
		{"memory exactly enough", "mistral-7b-instruct", "Standard_NC4as_T4_v3", 1, 0, MethodFixed, 1, 1, true, ""},
		// ⌈40 ÷ 16⌉ = 3 nodes (3 GPUs of 16Gi), and phi-4 is single-node.
		{"phi-4 too big for a V100", "phi-4", "Standard_NC6s_v3", 1, 0, MethodFixed, 3, 3, false,
			"phi-4 needs 40Gi of GPU memory on at least 1 GPU; one Standard_NC6s_v3 has 16Gi on 1 GPU and phi-4 cannot span nodes"},
		// Same, even when the user asks for the 3 nodes: the memory is there but spread over nodes.
		{"phi-4 cannot span 3 V100 nodes", "phi-4", "Standard_NC6s_v3", 3, 0, MethodFixed, 3, 3, false, "cannot span nodes"},
		// ⌈90 ÷ 32⌉ = 3 nodes, ⌈2 ÷ 2⌉ = 1 → 3 nodes; GPUs: ⌈90 ÷ 16⌉ = 6; falcon-40b is single-node.
		{"falcon-40b on 3 NC12s_v3", "falcon-40b", "Standard_NC12s_v3", 3, 0, MethodFixed, 6, 3, false, "falcon-40b cannot span nodes"},
		// Memory: ⌈90 ÷ 94⌉ = 1, but GPUs: ⌈2 ÷ 1⌉ = 2 nodes → the GPU-count rule decides.
		{"falcon-40b needs 2 GPUs", "falcon-40b", "Standard_NC40ads_H100_v5", 1, 0, MethodFixed, 2, 2, false, "cannot span nodes"},
		// Memory: ⌈30 ÷ 80⌉ = 1, GPUs: ⌈2 ÷ 1⌉ = 2 nodes; llama-2-13b is multi-node so 2 nodes work.
		{"llama-2-13b count 1 short", "llama-2-13b", "Standard_NC24ads_A100_v4", 1, 0, MethodFixed, 2, 2, false,
			"that is 2 × Standard_NC24ads_A100_v4 but count is 1: set count to 2"},
		{"llama-2-13b count 2", "llama-2-13b", "Standard_NC24ads_A100_v4", 2, 0, MethodFixed, 2, 2, true, ""},
		// Memory: ⌈152 ÷ 320⌉ = 1, GPUs: ⌈8 ÷ 4⌉ = 2 nodes; GPUs max(8, ⌈152 ÷ 80⌉ = 2) = 8.
		{"llama-2-70b on 2 NC96ads", "llama-2-70b", "Standard_NC96ads_A100_v4", 2, 0, MethodFixed, 8, 2, true, ""},
		// Memory: ⌈192 ÷ 64⌉ = 3, GPUs: ⌈8 ÷ 4⌉ = 2 → 3 nodes.
		{"llama-2-70b-chat on 2 NC24s_v3", "llama-2-70b-chat", "Standard_NC24s_v3", 2, 0, MethodFixed, 12, 3, false, "set count to 3"},
		{"llama-2-70b-chat on 3 NC24s_v3", "llama-2-70b-chat", "Standard_NC24s_v3", 3, 0, MethodFixed, 12, 3, true, ""},
		// A count below 1 is Kaito's default of 1.
		{"count 0 means 1", "phi-3-mini-4k-instruct", "Standard_NC6s_v3", 0, 0, MethodFixed, 1, 1, true, ""},
		// maxModelLen does not matter to fixed presets.
		{"fixed ignores max-model-len", "phi-3-mini-4k-instruct", "Standard_NC6s_v3", 1, 1 << 20, MethodFixed, 1, 1, true, ""},

		// usable = 80 × 0.84 = 67.2; KV = 2048 × 327680 B = 0.625Gi; room = (67.2 − 2.925) ÷ 1.05 = 61.21;
		// 131.42 × 1.02 = 134.05; 134.05 ÷ 61.21 = 2.19 → 3 GPUs → 3 nodes of 1 GPU.
		{"llama-3.3-70b on 1 NC24ads", "llama-3.3-70b-instruct", "Standard_NC24ads_A100_v4", 1, 0, MethodEstimated, 3, 3, false,
			"llama-3.3-70b-instruct needs 3 GPUs of 80Gi each (estimated from 131.42Gi of weights at max-model-len 2048); that is 3 × Standard_NC24ads_A100_v4 but count is 1: set count to 3"},
		{"llama-3.3-70b on 3 NC24ads", "llama-3.3-70b-instruct", "Standard_NC24ads_A100_v4", 3, 0, MethodEstimated, 3, 3, true, ""},
		// KV ÷ 2 GPUs = 0.3125Gi; room = (67.2 − 2.6125) ÷ 1.05 = 61.51; 134.05 ÷ 61.51 = 2.18 → 3 GPUs → ⌈3 ÷ 2⌉ = 2.
		{"llama-3.3-70b on 2 NC48ads", "llama-3.3-70b-instruct", "Standard_NC48ads_A100_v4", 2, 0, MethodEstimated, 3, 2, true, ""},
		// KV ÷ 4 = 0.15625Gi; room = (67.2 − 2.45625) ÷ 1.05 = 61.66; 2.17 → 3 GPUs → ⌈3 ÷ 4⌉ = 1 node.
		{"llama-3.3-70b on 1 NC96ads", "llama-3.3-70b-instruct", "Standard_NC96ads_A100_v4", 1, 0, MethodEstimated, 3, 1, true, ""},
		// KV = 2048 × 73728 B = 0.140625Gi; room = (67.2 − 2.440625) ÷ 1.05 = 61.68;
		// 60.77 × 1.02 = 61.985; 61.985 ÷ 61.68 = 1.005 → 2 GPUs → 2 nodes, and gpt-oss is single-node.
		// Dropping any of 0.84, 2.3, 1.05 or 1.02 brings the ratio under 1 and makes it fit: this case
		// guards every constant of the estimator.
		{"gpt-oss-120b just misses one A100", "gpt-oss-120b", "Standard_NC24ads_A100_v4", 1, 0, MethodEstimated, 2, 2, false, "gpt-oss-120b cannot span nodes"},
		// usable = 94 × 0.84 = 78.96; room = (78.96 − 2.440625) ÷ 1.05 = 72.88; 61.985 ÷ 72.88 = 0.85 → 1 GPU.
		{"gpt-oss-120b on one H100 NVL", "gpt-oss-120b", "Standard_NC40ads_H100_v5", 1, 0, MethodEstimated, 1, 1, true, ""},
		// usable = 141 × 0.84 = 118.44; KV = 2048 × 70272 B ÷ 8 = 0.0168Gi; room = (118.44 − 2.3168) ÷ 1.05 = 110.59;
		// 641.3 × 1.02 = 654.13; 654.13 ÷ 110.59 = 5.91 → 6 GPUs → 1 node of 8.
		{"deepseek-r1-0528 on one H200 node", "deepseek-r1-0528", "Standard_ND96isr_H200_v5", 1, 0, MethodEstimated, 6, 1, true, ""},
		// usable = 80 × 0.84 = 67.2; room = (67.2 − 2.3168) ÷ 1.05 = 61.79; 654.13 ÷ 61.79 = 10.59 → 11 GPUs → 2 nodes.
		{"deepseek-r1-0528 on one H100 node", "deepseek-r1-0528", "Standard_ND96isr_H100_v5", 1, 0, MethodEstimated, 11, 2, false, "set count to 2"},
		{"deepseek-r1-0528 on two H100 nodes", "deepseek-r1-0528", "Standard_ND96isr_H100_v5", 2, 0, MethodEstimated, 11, 2, true, ""},
		// No KV figure: room = (118.44 − 2.3) ÷ 1.05 = 110.61; 634.7 × 1.02 = 647.39; 5.85 → 6 GPUs → 1 node.
		{"mistral-large-3 on one H200 node", "mistral-large-3-675b-instruct", "Standard_ND96isr_H200_v5", 1, 0, MethodEstimated, 6, 1, true, ""},
		// usable = 16 × 0.84 = 13.44; KV = 2048 × 139264 B = 0.265625Gi; room = (13.44 − 2.565625) ÷ 1.05 = 10.36;
		// 8.6 × 1.02 = 8.772; 0.85 → 1 GPU.
		{"gemma-3-4b on a T4", "gemma-3-4b-instruct", "Standard_NC4as_T4_v3", 1, 0, MethodEstimated, 1, 1, true, ""},
		// KV = 2048 × 507904 B = 0.96875Gi; room = (67.2 − 3.26875) ÷ 1.05 = 60.89; 54.8 × 1.02 = 55.896; 0.92 → 1 GPU.
		{"gemma-3-27b on one A100", "gemma-3-27b-instruct", "Standard_NC24ads_A100_v4", 1, 2048, MethodEstimated, 1, 1, true, ""},
		// KV = 32768 × 507904 B = 15.5Gi; room = (67.2 − 17.8) ÷ 1.05 = 47.05; 55.896 ÷ 47.05 = 1.19 → 2 GPUs → 2 nodes.
		{"gemma-3-27b long context on one A100", "gemma-3-27b-instruct", "Standard_NC24ads_A100_v4", 2, 32768, MethodEstimated, 2, 2, false, "max-model-len 32768"},
		// KV = 131072 × 507904 B = 62Gi over 4 GPUs = 15.5Gi each → as above 2 GPUs → 1 node of 4.
		// Not dividing the KV cache by the GPUs would leave room = (67.2 − 64.3) ÷ 1.05 = 2.76 → 21 GPUs.
		{"KV cache spreads over the GPUs", "gemma-3-27b-instruct", "Standard_NC96ads_A100_v4", 1, 131072, MethodEstimated, 2, 1, true, ""},
		// usable = 24 × 0.84 = 20.16; KV ÷ 2 = 0.484375Gi; room = (20.16 − 2.784375) ÷ 1.05 = 16.55; 55.896 ÷ 16.55 = 3.38
		// → 4 GPUs → 2 nodes of 2, and gemma-3 is single-node.
		{"gemma-3-27b on A10s", "gemma-3-27b-instruct", "Standard_NV72ads_A10_v5", 2, 0, MethodEstimated, 4, 2, false,
			"gemma-3-27b-instruct needs 4 GPUs of 24Gi each (estimated from 54.8Gi of weights at max-model-len 2048); one Standard_NV72ads_A10_v5 has 48Gi on 2 GPUs and gemma-3-27b-instruct cannot span nodes"},
		// KV = 62Gi on a 16Gi GPU: 13.44 − 2.3 − 62 < 0, no count helps.
		{"no room at any count", "gemma-3-27b-instruct", "Standard_NC4as_T4_v3", 100, 131072, MethodEstimated, 0, 0, false, "cannot run on Standard_NC4as_T4_v3 at any count"},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m, ok := c.Model(tt.model)
			is.True(ok)
			s, ok := c.SKU(tt.sku)
			is.True(ok)
			f := c.Fit(m, s, tt.count, tt.len)
			is.Equal(f.Model, tt.model)
			is.Equal(f.SKU, tt.sku)
			is.Equal(f.Method, tt.method)
			is.Equal(f.GPUsNeeded, tt.gpus)
			is.Equal(f.NodesNeeded, tt.nodes)
			is.Equal(f.Fits, tt.fits)
			if tt.fits {
				is.Equal(f.Reason, "")
			} else {
				is.True(strings.Contains(f.Reason, tt.reason)) // Reason does not explain
			}
		})
	}
}

func TestFitReportsCanonicalSKUName(t *testing.T) {
	is := is.New(t)
	c := Default()
	m, _ := c.Model("llama-2-70b-chat")
	s, ok := c.SKU("standard_nd96asr_a100_v4")
	is.True(ok)
	f := c.Fit(m, s, 1, 0)
	is.Equal(f.SKU, "Standard_ND96asr_v4")
	is.True(f.Fits) // ⌈192 ÷ 320⌉ = 1, ⌈8 ÷ 8⌉ = 1
}

// A small catalog where the default context length tips the estimate: 1 × 80Gi, a KV cache of
// exactly 1Gi at 2048 tokens (524288 B/token). With it: room = (67.2 − 3.3) ÷ 1.05 = 60.86 and
// 60 × 1.02 = 61.2 → 1.006 → 2 GPUs. Without any KV: room = 61.81 → 0.99 → 1 GPU.
const edgeModels = `models:
- {name: edge, family: t, weightsGiB: 60, bytesPerToken: 524288, diskGiB: 1, runtimes: [vllm], image: x, dtype: bf16, tuning: false}
- {name: nosize, family: t, diskGiB: 1, runtimes: [vllm], image: x, dtype: bf16, tuning: false}
- {name: big, family: t, gpuCount: 2, gpuMemoryGiB: 150, diskGiB: 1, runtimes: [vllm], image: x, dtype: bf16, tuning: false, multiNode: true}
- {name: bigsingle, family: t, gpuCount: 2, gpuMemoryGiB: 150, diskGiB: 1, runtimes: [vllm], image: x, dtype: bf16, tuning: false}
`
const edgeSKUs = `skus:
- {name: A, gpuCount: 1, gpuMemoryGiB: 16, gpuModel: T4}
- {name: B, gpuCount: 1, gpuMemoryGiB: 80, gpuModel: A100}
- {name: C, gpuCount: 2, gpuMemoryGiB: 160, gpuModel: A100}
- {name: D, gpuCount: 2, gpuMemoryGiB: 200, gpuModel: A100}
`

func edgeCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load([]byte(edgeModels), []byte(edgeSKUs))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFitDefaultMaxModelLen(t *testing.T) {
	is := is.New(t)
	c := edgeCatalog(t)
	m, _ := c.Model("edge")
	s, _ := c.SKU("B")
	for _, n := range []int{0, -1, 2048} {
		f := c.Fit(m, s, 1, n)
		is.Equal(f.GPUsNeeded, 2) // 2048 tokens of KV cache must be counted when max-model-len is unset
		is.True(strings.Contains(f.Reason, "max-model-len 2048"))
	}
	is.Equal(c.Fit(m, s, 1, 1).GPUsNeeded, 1) // a 1-token context leaves room for the weights
}

func TestFitUnknownSize(t *testing.T) {
	is := is.New(t)
	c := edgeCatalog(t)
	m, _ := c.Model("nosize")
	s, _ := c.SKU("A")
	f := c.Fit(m, s, 1, 0)
	is.Equal(f.Method, MethodUnknown)
	is.Equal(f.NodesNeeded, 1)
	is.True(f.Fits)
	is.Equal(f.Reason, "")
}

func TestFitHandBuiltSKUWithoutGPUs(t *testing.T) {
	is := is.New(t)
	c := edgeCatalog(t)
	m, _ := c.Model("big")
	f := c.Fit(m, SKU{Name: "Standard_D4s_v3"}, 1, 0)
	is.True(!f.Fits)
	is.Equal(f.NodesNeeded, 0)
	is.True(f.Reason != "")
}

func TestSuggest(t *testing.T) {
	names := func(ss []SKU) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = s.Name
		}
		return out
	}
	t.Run("fewest nodes, then fewest GPUs, then least memory", func(t *testing.T) {
		is := is.New(t)
		c := edgeCatalog(t)
		// big (150Gi, 2 GPUs): A ⌈150/16⌉ = 10 nodes, B max(⌈150/80⌉, 2) = 2, C 1, D 1 → C (160Gi) before D (200Gi).
		m, _ := c.Model("big")
		is.Equal(names(c.Suggest(m, 0)), []string{"C", "D"})
		// Single-node only: same answer, nothing multi-node sneaks in.
		m, _ = c.Model("bigsingle")
		is.Equal(names(c.Suggest(m, 0)), []string{"C", "D"})
	})
	t.Run("phi-4 gets a single A100 first", func(t *testing.T) {
		is := is.New(t)
		c := Default()
		m, _ := c.Model("phi-4")
		got := c.Suggest(m, 0)
		is.True(len(got) > 3)
		// 1-GPU SKUs with ≥ 40Gi: NC24ads_A100 (80Gi), NC40ads_H100 (94Gi); then 2-GPU: NV72ads_A10 (48Gi).
		is.Equal(names(got[:3]), []string{"Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5", "Standard_NV72ads_A10_v5"})
		for _, s := range got {
			is.True(c.Fit(m, s, 1, 0).Fits) // every suggestion must fit on one node
		}
	})
	t.Run("deepseek-r1-0528 fits one node only on H200", func(t *testing.T) {
		is := is.New(t)
		c := Default()
		m, _ := c.Model("deepseek-r1-0528")
		is.Equal(names(c.Suggest(m, 0)), []string{"Standard_ND96isr_H200_v5"})
	})
	t.Run("nothing fits", func(t *testing.T) {
		is := is.New(t)
		c := Default()
		m, _ := c.Model("gemma-3-27b-instruct")
		// 10M tokens × 507904 B ÷ 8 GPUs ≈ 591Gi of KV cache per GPU: no SKU has room.
		is.Equal(len(c.Suggest(m, 10_000_000)), 0)
	})
}
