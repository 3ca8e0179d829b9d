package presets

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

// TestFit: Fit is EstimateNodes against the workspace's count (see TestEstimateNodes for the sums).
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
		{"llama-3.3-70b on 2 NC24ads", "llama-3.3-70b-instruct", "Standard_NC24ads_A100_v4", 2, 0, MethodEstimated, 3, 3, false,
			"Kaito's estimator gives meta-llama/Llama-3.3-70B-Instruct 3 GPUs of 80Gi (131.42Gi of weights at max-model-len 2048); that is 3 × Standard_NC24ads_A100_v4 but count is 2: set count to 3"},
		{"llama-3.3-70b on 3 NC24ads", "llama-3.3-70b-instruct", "Standard_NC24ads_A100_v4", 3, 0, MethodEstimated, 3, 3, true, ""},
		{"llama-3.3-70b on 1 NC96ads", "llama-3.3-70b-instruct", "Standard_NC96ads_A100_v4", 1, 0, MethodEstimated, 3, 1, true, ""},
		{"phi-4-mini on NC24ads", "phi-4-mini-instruct", "Standard_NC24ads_A100_v4", 1, 0, MethodEstimated, 1, 1, true, ""},
		{"count 0 means 1", "phi-4-mini-instruct", "Standard_NC24ads_A100_v4", 0, 0, MethodEstimated, 1, 1, true, ""},
		{"more nodes than needed", "phi-4-mini-instruct", "Standard_NC24ads_A100_v4", 3, 0, MethodEstimated, 1, 1, true, ""},
		{"max-model-len too long", "llama-3.3-70b-instruct", "Standard_NV36ads_A10_v5", 20, 131072, MethodEstimated, 0, 0, false,
			"cannot run on Standard_NV36ads_A10_v5 at any count: each NVIDIA A10 GPU can give vLLM 20.2Gi but the runtime and the KV cache for max-model-len 131072 take 42.3Gi"},
		{"uncatalogued id", "tiiuae/falcon-40b", "Standard_NV36ads_A10_v5", 2, 0, MethodUnknown, 0, 2, true, ""},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m, err := c.Resolve(tt.model)
			is.NoErr(err)
			sku, ok := c.SKU(tt.sku)
			is.True(ok)
			f := c.Fit(m, sku, tt.count, tt.len)
			is.Equal(f.Model, m.Name)
			is.Equal(f.SKU, sku.Name)
			is.Equal(f.Method, tt.method)
			is.Equal(f.GPUsNeeded, tt.gpus)
			is.Equal(f.NodesNeeded, tt.nodes)
			is.Equal(f.Fits, tt.fits)
			if tt.fits {
				is.Equal(f.Reason, "")
			} else if !strings.Contains(f.Reason, tt.reason) {
				t.Fatalf("reason %q does not contain %q", f.Reason, tt.reason)
			}
		})
	}
}

func TestFitSingleNodeModel(t *testing.T) {
	is := is.New(t)
	c := Default()
	m, _ := c.Model("llama-3.3-70b-instruct")
	m.MultiNode = false
	sku, _ := c.SKU("Standard_NC24ads_A100_v4")
	f := c.Fit(m, sku, 3, 0)
	is.True(!f.Fits)
	is.Equal(f.NodesNeeded, 3)
	is.True(strings.Contains(f.Reason, "cannot span nodes"))
}

func TestSuggest(t *testing.T) {
	c := Default()
	names := func(skus []SKU) []string {
		var out []string
		for _, s := range skus {
			out = append(out, s.Name)
		}
		return out
	}
	t.Run("one node when any SKU holds it, fewest GPUs first", func(t *testing.T) {
		is := is.New(t)
		m, _ := c.Model("llama-3.3-70b-instruct")
		got := names(c.Suggest(m, 0))
		is.Equal(got[0], "Standard_NC80adis_H100_v5") // 2 GPUs, 188Gi
		for _, n := range got {
			s, _ := c.SKU(n)
			is.True(!s.Legacy && s.ComputeCapability > 0) // no legacy or AMD sizes
			is.Equal(c.Fit(m, s, 1, 0).NodesNeeded, 1)
		}
	})
	t.Run("small model: the smallest GPU", func(t *testing.T) {
		is := is.New(t)
		m, _ := c.Model("phi-4-mini-instruct")
		is.Equal(names(c.Suggest(m, 0))[0], "Standard_NV36ads_A10_v5")
	})
	t.Run("several nodes when none holds it on one", func(t *testing.T) {
		is := is.New(t)
		m, _ := c.Model("moonshotai/Kimi-K2.5")
		got := c.Suggest(m, 0)
		is.True(len(got) > 0)
		is.True(c.Fit(m, got[0], 100, 0).NodesNeeded >= 1)
	})
	t.Run("uncatalogued: nothing to suggest", func(t *testing.T) {
		is := is.New(t)
		m, _ := c.Resolve("org/unknown-model")
		is.Equal(len(c.Suggest(m, 0)), 0)
	})
}
