package presets

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

// TestDefaultCatalogLoads guards Default's panic: the embedded data must always load.
func TestDefaultCatalogLoads(t *testing.T) {
	is := is.New(t)
	c, err := Load(modelsYAML, skusYAML)
	is.NoErr(err)
	is.True(len(c.Models()) > 0)
	is.True(len(c.SKUs()) > 0)
	is.True(Default() == Default()) // parsed once
}

// TestModelsMatchKaitoFacts checks every preset row of kaito-facts.md, one line per preset.
// Pairs like "14Gi / 16Gi" give the first number to the base model, the second to -instruct/-chat;
// "base model only" tuning means true for the base, false for the instruct model.
func TestModelsMatchKaitoFacts(t *testing.T) {
	const (
		gated = 1 << iota
		private
		deprecated
		multi
	)
	tests := []struct {
		name    string
		family  string
		gpus    int
		mem     float64
		weights float64
		disk    int
		tuning  bool
		flags   int
	}{
		{"phi-2", "phi2", 1, 12, 0, 80, true, deprecated},
		{"phi-3-mini-4k-instruct", "phi3", 1, 9, 7.12, 80, true, 0},
		{"phi-3-mini-128k-instruct", "phi3", 1, 9, 7.12, 80, true, 0},
		{"phi-3-medium-4k-instruct", "phi3", 1, 28, 26, 120, true, 0},
		{"phi-3-medium-128k-instruct", "phi3", 1, 28, 26, 120, true, 0},
		{"phi-3.5-mini-instruct", "phi3", 1, 8, 7.12, 70, true, 0},
		{"phi-4", "phi4", 1, 40, 27.31, 150, true, 0},
		{"phi-4-mini-instruct", "phi4", 1, 8, 7.15, 70, true, 0},
		{"falcon-7b", "falcon", 1, 14, 13.44, 90, true, 0},
		{"falcon-7b-instruct", "falcon", 1, 14, 13.44, 90, false, 0},
		{"falcon-40b", "falcon", 2, 90, 77.9, 280, true, 0},
		{"falcon-40b-instruct", "falcon", 2, 90, 77.9, 280, false, 0},
		{"mistral-7b", "mistral", 1, 14, 13.49, 90, true, 0},
		{"mistral-7b-instruct", "mistral", 1, 16, 13.49, 90, false, 0},
		{"qwen2.5-coder-7b-instruct", "qwen", 1, 24, 14.19, 110, true, 0},
		{"qwen2.5-coder-32b-instruct", "qwen", 1, 70, 61.03, 230, true, 0},
		{"deepseek-r1-distill-llama-8b", "deepseek", 1, 16.5, 14.96, 90, false, 0},
		{"deepseek-r1-distill-qwen-14b", "deepseek", 1, 25.7, 27.51, 120, false, 0},
		{"llama-3.1-8b-instruct", "llama3", 1, 22, 14.96, 110, false, gated | multi},
		// "≥132Gi" with no GPU count: sized by weights (see models.yaml).
		{"llama-3.3-70b-instruct", "llama3", 0, 0, 131.42, 220, false, gated | multi},
		{"llama-2-7b", "llama2", 1, 14, 0, 34, false, private},
		{"llama-2-7b-chat", "llama2", 1, 16, 0, 34, false, private},
		{"llama-2-13b", "llama2", 2, 30, 0, 46, false, private | multi},
		{"llama-2-13b-chat", "llama2", 2, 30, 0, 46, false, private | multi},
		{"llama-2-70b", "llama2", 8, 152, 0, 158, false, private | multi},
		{"llama-2-70b-chat", "llama2", 8, 192, 0, 158, false, private | multi},
		{"gemma-3-4b-instruct", "gemma3", 0, 0, 8.6, 90, false, 0},
		{"gemma-3-27b-instruct", "gemma3", 0, 0, 54.8, 200, false, 0},
		{"gpt-oss-20b", "gpt", 0, 0, 16, 110, false, 0},
		{"gpt-oss-120b", "gpt", 0, 0, 60.77, 250, false, 0},
		{"ministral-3-3b-instruct", "mistral", 0, 0, 8.70, 70, false, 0},
		{"ministral-3-8b-instruct", "mistral", 0, 0, 19.41, 100, false, 0},
		{"ministral-3-14b-instruct", "mistral", 0, 0, 29.29, 100, false, 0},
		{"mistral-large-3-675b-instruct", "mistral", 0, 0, 634.70, 800, false, multi},
		{"deepseek-r1-0528", "deepseek", 0, 0, 641.3, 800, false, multi},
		{"deepseek-v3-0324", "deepseek", 0, 0, 641.3, 800, false, multi},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m, ok := c.Model(tt.name)
			is.True(ok) // preset missing from the catalog
			is.Equal(m.Name, tt.name)
			is.Equal(m.Family, tt.family)
			is.Equal(m.GPUCount, tt.gpus)
			is.Equal(m.GPUMemoryGiB, tt.mem)
			is.Equal(m.WeightsGiB, tt.weights)
			is.Equal(m.DiskGiB, tt.disk)
			is.Equal(m.Tuning, tt.tuning)
			is.Equal(m.Gated, tt.flags&gated != 0)
			is.Equal(m.Private, tt.flags&private != 0)
			is.Equal(m.Deprecated, tt.flags&deprecated != 0)
			is.Equal(m.MultiNode, tt.flags&multi != 0)
		})
	}
}

// TestBytesPerToken recomputes the KV-cache figure from each model's public architecture, so a
// slip in the data file's arithmetic shows up here.
func TestBytesPerToken(t *testing.T) {
	kv := func(layers, kvHeads, headDim int64) int64 { return 2 * layers * kvHeads * headDim * 2 }
	tests := map[string]int64{
		"phi-2":                         kv(32, 32, 80),
		"phi-3-mini-4k-instruct":        kv(32, 32, 96),
		"phi-3-mini-128k-instruct":      kv(32, 32, 96),
		"phi-3-medium-4k-instruct":      kv(40, 10, 128),
		"phi-3-medium-128k-instruct":    kv(40, 10, 128),
		"phi-3.5-mini-instruct":         kv(32, 32, 96),
		"phi-4":                         kv(40, 10, 128),
		"phi-4-mini-instruct":           kv(32, 8, 128),
		"falcon-7b":                     kv(32, 1, 64),
		"falcon-7b-instruct":            kv(32, 1, 64),
		"falcon-40b":                    kv(60, 8, 64),
		"falcon-40b-instruct":           kv(60, 8, 64),
		"mistral-7b":                    kv(32, 8, 128),
		"mistral-7b-instruct":           kv(32, 8, 128),
		"qwen2.5-coder-7b-instruct":     kv(28, 4, 128),
		"qwen2.5-coder-32b-instruct":    kv(64, 8, 128),
		"deepseek-r1-distill-llama-8b":  kv(32, 8, 128),
		"deepseek-r1-distill-qwen-14b":  kv(48, 8, 128),
		"llama-3.1-8b-instruct":         131072, // the brief's worked example
		"llama-3.3-70b-instruct":        kv(80, 8, 128),
		"llama-2-7b":                    kv(32, 32, 128),
		"llama-2-7b-chat":               kv(32, 32, 128),
		"llama-2-13b":                   kv(40, 40, 128),
		"llama-2-13b-chat":              kv(40, 40, 128),
		"llama-2-70b":                   kv(80, 8, 128),
		"llama-2-70b-chat":              kv(80, 8, 128),
		"gemma-3-4b-instruct":           kv(34, 4, 256),
		"gemma-3-27b-instruct":          kv(62, 16, 128),
		"gpt-oss-20b":                   kv(24, 8, 64),
		"gpt-oss-120b":                  kv(36, 8, 64),
		"ministral-3-3b-instruct":       0, // architecture not on record
		"ministral-3-8b-instruct":       0,
		"ministral-3-14b-instruct":      0,
		"mistral-large-3-675b-instruct": 0,
		"deepseek-r1-0528":              61 * (512 + 64) * 2, // MLA: one latent + rope key per layer
		"deepseek-v3-0324":              61 * (512 + 64) * 2,
	}
	c := Default()
	for name, want := range tests {
		m, ok := c.Model(name)
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if m.BytesPerToken != want {
			t.Errorf("%s: bytesPerToken = %d, want %d", name, m.BytesPerToken, want)
		}
	}
}

func TestRuntimesImagesDTypes(t *testing.T) {
	transformersOnly := map[string]bool{"phi-2": true, "llama-2-7b": true, "llama-2-7b-chat": true,
		"llama-2-13b": true, "llama-2-13b-chat": true, "llama-2-70b": true, "llama-2-70b-chat": true}
	vllmOnly := []string{"gemma-3-", "gpt-oss-", "ministral-3-", "mistral-large-3-", "deepseek-r1-0528", "deepseek-v3-0324"}
	for _, m := range Default().Models() {
		t.Run(m.Name, func(t *testing.T) {
			is := is.New(t)
			isVLLMOnly := false
			for _, p := range vllmOnly {
				isVLLMOnly = isVLLMOnly || strings.HasPrefix(m.Name, p)
			}
			switch {
			case transformersOnly[m.Name]:
				is.Equal(m.Runtimes, []Runtime{RuntimeTransformers})
				is.Equal(m.DefaultRuntime(), RuntimeTransformers)
				is.Equal(m.DType, "float16")
			case isVLLMOnly:
				is.Equal(m.Runtimes, []Runtime{RuntimeVLLM})
				is.Equal(m.DefaultRuntime(), RuntimeVLLM)
				is.Equal(m.DType, "bfloat16")
			default:
				is.True(m.Supports(RuntimeVLLM))
				is.True(m.Supports(RuntimeTransformers))
				is.Equal(m.DefaultRuntime(), RuntimeVLLM)
				is.Equal(m.DType, "bfloat16")
			}
			if m.Private {
				is.Equal(m.Image, "") // the user brings the image of a private preset
			} else {
				is.True(strings.HasPrefix(m.Image, "mcr.microsoft.com/aks/kaito/kaito-"+m.Name+":"))
			}
		})
	}
}

func TestDefaultRuntimeFallsBackToFirst(t *testing.T) {
	is := is.New(t)
	m := Model{Runtimes: []Runtime{RuntimeTransformers}}
	is.Equal(m.DefaultRuntime(), RuntimeTransformers)
	m.Runtimes = []Runtime{RuntimeTransformers, RuntimeVLLM}
	is.Equal(m.DefaultRuntime(), RuntimeVLLM) // vLLM wins even when listed second
	is.True(!m.Supports("tgi"))
}

func TestSKUsMatchKaitoFacts(t *testing.T) {
	tests := []struct {
		name  string
		gpus  int
		mem   float64
		model string
	}{
		{"Standard_NC6s_v3", 1, 16, "V100"},
		{"Standard_NC12s_v3", 2, 32, "V100"},
		{"Standard_NC24s_v3", 4, 64, "V100"},
		{"Standard_NC24rs_v3", 4, 64, "V100"},
		{"Standard_NC4as_T4_v3", 1, 16, "T4"},
		{"Standard_NC8as_T4_v3", 1, 16, "T4"},
		{"Standard_NC16as_T4_v3", 1, 16, "T4"},
		{"Standard_NC64as_T4_v3", 4, 64, "T4"},
		{"Standard_NV36ads_A10_v5", 1, 24, "A10"},
		{"Standard_NV72ads_A10_v5", 2, 48, "A10"},
		{"Standard_NC24ads_A100_v4", 1, 80, "A100"},
		{"Standard_NC48ads_A100_v4", 2, 160, "A100"},
		{"Standard_NC96ads_A100_v4", 4, 320, "A100"},
		{"Standard_ND96asr_v4", 8, 320, "A100"},
		{"Standard_ND96amsr_A100_v4", 8, 640, "A100"},
		{"Standard_NC40ads_H100_v5", 1, 94, "H100"},
		{"Standard_NC80adis_H100_v5", 2, 188, "H100"},
		{"Standard_ND96isr_H100_v5", 8, 640, "H100"},
		{"Standard_ND96isr_H200_v5", 8, 1128, "H200"},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s, ok := c.SKU(tt.name)
			is.True(ok) // SKU missing from the catalog
			is.Equal(s.Name, tt.name)
			is.Equal(s.GPUCount, tt.gpus)
			is.Equal(s.GPUMemoryGiB, tt.mem)
			is.Equal(s.GPUModel, tt.model)
		})
	}
}

func TestSKULookupAliasesAndCase(t *testing.T) {
	c := Default()
	tests := []struct{ query, want string }{
		{"Standard_ND96asr_v4", "Standard_ND96asr_v4"},
		{"Standard_ND96asr_A100_v4", "Standard_ND96asr_v4"},
		{"standard_nd96asr_a100_v4", "Standard_ND96asr_v4"},
		{"STANDARD_NC24ADS_A100_V4", "Standard_NC24ads_A100_v4"},
		{" Standard_NC6s_v3 ", "Standard_NC6s_v3"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			is := is.New(t)
			s, ok := c.SKU(tt.query)
			is.True(ok)
			is.Equal(s.Name, tt.want)
		})
	}
	is := is.New(t)
	_, ok := c.SKU("Standard_D4s_v3") // a CPU size is not a GPU SKU
	is.True(!ok)
	_, ok = c.Model("PHI-4") // preset names are exact
	is.True(!ok)
}

func TestListsAreSortedCopies(t *testing.T) {
	is := is.New(t)
	c := Default()
	ms := c.Models()
	for i := 1; i < len(ms); i++ {
		is.True(ms[i-1].Name < ms[i].Name)
	}
	ss := c.SKUs()
	for i := 1; i < len(ss); i++ {
		is.True(ss[i-1].Name < ss[i].Name)
	}
	ms[0].Runtimes[0] = "broken"
	ms[0].Name = "broken"
	is.True(c.Models()[0].Runtimes[0] != "broken")
	is.True(c.Models()[0].Name != "broken")
	s, _ := c.SKU("Standard_ND96asr_v4")
	s.Aliases[0] = "broken"
	again, _ := c.SKU("Standard_ND96asr_v4")
	is.Equal(again.Aliases, []string{"Standard_ND96asr_A100_v4"})
}

const (
	goodModels = `models:
- name: tiny
  family: test
  gpuCount: 1
  gpuMemoryGiB: 8
  diskGiB: 10
  runtimes: [vllm]
  image: example.com/tiny:1
  dtype: bfloat16
  tuning: false
`
	goodSKUs = `skus:
- name: Standard_Test
  aliases: [Standard_Test_Alias]
  gpuCount: 1
  gpuMemoryGiB: 16
  gpuModel: T4
`
)

func TestLoadAcceptsMinimalCatalog(t *testing.T) {
	is := is.New(t)
	c, err := Load([]byte(goodModels), []byte(goodSKUs))
	is.NoErr(err)
	m, ok := c.Model("tiny")
	is.True(ok)
	is.Equal(m.GPUMemoryGiB, 8.0)
	s, ok := c.SKU("standard_test_alias")
	is.True(ok)
	is.Equal(s.Name, "Standard_Test")
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name           string
		models, skus   string
		wantErrContain string
	}{
		{"unknown model field", strings.Replace(goodModels, "dtype:", "dtpye:", 1), goodSKUs, "dtpye"},
		{"unknown sku field", goodModels, strings.Replace(goodSKUs, "gpuModel:", "gpuModle:", 1), "gpuModle"},
		{"unknown top-level key", goodModels + "extra: 1\n", goodSKUs, "extra"},
		{"duplicate yaml key", strings.Replace(goodModels, "family: test", "family: test\n  family: again", 1), goodSKUs, "family"},
		{"duplicate model name", goodModels + strings.TrimPrefix(goodModels, "models:\n"), goodSKUs, `duplicate name "tiny"`},
		{"duplicate sku name across case", goodModels, goodSKUs + "- {name: standard_test, gpuCount: 1, gpuMemoryGiB: 16, gpuModel: T4}\n", `"standard_test"`},
		{"alias clashes with other sku", goodModels, goodSKUs + "- {name: Standard_Test_Alias, gpuCount: 1, gpuMemoryGiB: 16, gpuModel: T4}\n", "already a name or alias"},
		{"no models", "models: []\n", goodSKUs, "no models"},
		{"no skus", goodModels, "skus: []\n", "no skus"},
		{"missing name", strings.Replace(goodModels, "name: tiny", "", 1), goodSKUs, "name is required"},
		{"missing family", strings.Replace(goodModels, "family: test", "", 1), goodSKUs, "family is required"},
		{"missing disk", strings.Replace(goodModels, "diskGiB: 10", "", 1), goodSKUs, "diskGiB"},
		{"missing dtype", strings.Replace(goodModels, "dtype: bfloat16", "", 1), goodSKUs, "dtype is required"},
		{"missing tuning", strings.Replace(goodModels, "tuning: false", "", 1), goodSKUs, "tuning"},
		{"missing runtimes", strings.Replace(goodModels, "runtimes: [vllm]", "", 1), goodSKUs, "runtimes is required"},
		{"unknown runtime", strings.Replace(goodModels, "[vllm]", "[tgi]", 1), goodSKUs, `unknown runtime "tgi"`},
		{"runtime twice", strings.Replace(goodModels, "[vllm]", "[vllm, vllm]", 1), goodSKUs, "listed twice"},
		{"missing image", strings.Replace(goodModels, "image: example.com/tiny:1", "", 1), goodSKUs, "image"},
		{"private with image", strings.Replace(goodModels, "tuning: false", "tuning: false\n  private: true", 1), goodSKUs, "private preset has no image"},
		{"upper-case name", strings.Replace(goodModels, "name: tiny", "name: Tiny", 1), goodSKUs, "lower case"},
		{"memory without gpus", strings.Replace(goodModels, "gpuCount: 1", "", 1), goodSKUs, "go together"},
		{"negative size", strings.Replace(goodModels, "gpuMemoryGiB: 8", "gpuMemoryGiB: -8", 1), goodSKUs, "negative"},
		{"sku missing gpus", goodModels, strings.Replace(goodSKUs, "gpuCount: 1", "", 1), "gpuCount"},
		{"sku missing memory", goodModels, strings.Replace(goodSKUs, "gpuMemoryGiB: 16", "", 1), "gpuMemoryGiB"},
		{"sku missing gpu model", goodModels, strings.Replace(goodSKUs, "gpuModel: T4", "", 1), "gpuModel is required"},
		{"sku empty alias", goodModels, strings.Replace(goodSKUs, "[Standard_Test_Alias]", `[""]`, 1), "aliases[0] is empty"},
		{"not yaml", "models: [", goodSKUs, "models:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := Load([]byte(tt.models), []byte(tt.skus))
			is.True(err != nil)                                       // Load accepted a broken catalog
			is.True(strings.Contains(err.Error(), tt.wantErrContain)) // error does not say what is wrong
		})
	}
}
