package presets

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

// TestEstimateNodes: worked examples of Kaito v0.12.0's estimator, per GPU in bytes:
// usable = ⌊node bytes ÷ GPUs⌋ × 0.84; reserve = 2.3Gi + maxModelLen × bytesPerToken ÷ GPUs;
// room = (usable − reserve) ÷ 1.05; GPUs = ⌊weights × 1.02 ÷ room⌋ + 1; nodes = ⌈GPUs ÷ GPUs per node⌉.
// The expected counts were also checked against Kaito's own estimator.
func TestEstimateNodes(t *testing.T) {
	c := Default()
	model := func(name string) Model {
		m, err := c.Resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	single := model("phi-4")
	single.MultiNode = false
	tests := []struct {
		name           string
		m              Model
		sku            string // or gpus/mem below when ""
		gpus           int
		mem            float64
		requested, mml int
		want           int
		errHas         string
	}{
		// usable 67.2Gi; reserve 2.3 + 2048 × 327680 B (0.625Gi); room 61.21Gi; 131.42 × 1.02 = 134.05Gi
		// → ⌊2.19⌋ + 1 = 3 GPUs = 3 nodes. The requested 2 does not count.
		{"llama-3.3-70b on NC24ads, count 2", model("llama-3.3-70b-instruct"), "Standard_NC24ads_A100_v4", 0, 0, 2, 0, 3, ""},
		// 7.15 × 1.02 = 7.29Gi in a 61.7Gi room → 1 GPU.
		{"phi-4-mini on NC24ads", model("phi-4-mini-instruct"), "Standard_NC24ads_A100_v4", 0, 0, 1, 0, 1, ""},
		{"the estimate replaces a larger count", model("phi-4-mini-instruct"), "Standard_NC24ads_A100_v4", 0, 0, 4, 0, 1, ""},
		{"llama-3.3-70b on NC96ads", model("llama-3.3-70b-instruct"), "Standard_NC96ads_A100_v4", 0, 0, 1, 0, 1, ""},
		// usable 20.16Gi; room (20.16 − 2.925) ÷ 1.05 = 16.41Gi; 134.05 ÷ 16.41 = 8.17 → 9 GPUs.
		{"llama-3.3-70b on A10", model("llama-3.3-70b-instruct"), "Standard_NV36ads_A10_v5", 0, 0, 1, 0, 9, ""},
		// KV for 8192 tokens is 2.5Gi: room 14.63Gi → 10 GPUs.
		{"max-model-len 8192", model("llama-3.3-70b-instruct"), "Standard_NV36ads_A10_v5", 0, 0, 1, 8192, 10, ""},
		{"MLA model on H200", model("deepseek-r1-0528"), "Standard_ND96isr_H200_v5", 0, 0, 1, 0, 1, ""},
		{"MLA model on ND96asr", model("deepseek-ai/DeepSeek-R1-0528"), "Standard_ND96asr_A100_v4", 0, 0, 1, 0, 3, ""},
		{"gpt-oss-120b on NC40ads", model("gpt-oss-120b"), "Standard_NC40ads_H100_v5", 0, 0, 1, 0, 2, ""},
		// 131072 tokens × 327680 B = 40Gi of KV cache on a 24Gi GPU.
		{"too small for the KV cache", model("llama-3.3-70b-instruct"), "Standard_NV36ads_A10_v5", 0, 0, 1, 131072, 0, "too small"},
		// usable 2.52Gi, base overhead 2.3Gi + KV 0.39Gi.
		{"too small a GPU", model("phi-4"), "", 1, 3, 1, 0, 0, "a GPU of 3Gi is too small for microsoft/phi-4"},
		{"single-node model", single, "Standard_NV36ads_A10_v5", 0, 0, 1, 0, 0, "cannot be spread over nodes"},
		// Nothing to estimate from: the requested count stands (≤0 → 1).
		{"uncatalogued id", model("tiiuae/falcon-7b"), "Standard_NV36ads_A10_v5", 0, 0, 3, 0, 3, ""},
		{"uncatalogued id, no count", model("tiiuae/falcon-7b"), "Standard_NV36ads_A10_v5", 0, 0, 0, 0, 1, ""},
		{"no GPU memory", model("phi-4"), "", 1, 0, 2, 0, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			gpus, mem := tt.gpus, tt.mem
			if tt.sku != "" {
				s, ok := c.SKU(tt.sku)
				is.True(ok)
				gpus, mem = s.GPUCount, s.GPUMemoryGiB
			}
			got, err := EstimateNodes(tt.m, gpus, mem, tt.requested, tt.mml)
			if tt.errHas != "" {
				is.True(err != nil)
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %q does not contain %q", err, tt.errHas)
				}
				return
			}
			is.NoErr(err)
			is.Equal(got, tt.want)
		})
	}
}

func TestWeightBytes(t *testing.T) {
	is := is.New(t)
	is.Equal(weightBytes(27.31), int64(29323889214)) // 27.31 × 2³⁰ = …213.44, rounded up as resource.Quantity does
	is.Equal(weightBytes(13.50), int64(14495514624))
	is.Equal(weightBytes(641.30), int64(688590631732))
}

func TestGPUMemoryUtilization(t *testing.T) {
	for _, tt := range []struct{ gpu, want string }{
		{"NVIDIA A10", "0.82"},
		{"NVIDIA A100", "0.84"},
		{"NVIDIA H100", "0.84"},
		{"NVIDIA T4", "0.84"},
		{"A10", "0.84"}, // Kaito matches the exact GPU model string
	} {
		t.Run(tt.gpu, func(t *testing.T) {
			is.New(t).Equal(GPUMemoryUtilization(tt.gpu), tt.want)
		})
	}
}
