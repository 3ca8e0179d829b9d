package presets

import (
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// TestDefaultCatalogLoads guards Default's panic: the embedded data must always load, and it is
// Kaito v0.12.0's: 60 catalog models, 11 removed presets, the release's images.
func TestDefaultCatalogLoads(t *testing.T) {
	is := is.New(t)
	c, err := Load(modelsYAML, skusYAML, releaseYAML)
	is.NoErr(err)
	is.Equal(len(c.Models()), 60)
	is.Equal(len(c.RemovedPresets()), 11)
	is.Equal(len(c.SKUs()), 22)
	first, second := Default(), Default()
	is.True(first == second) // parsed once
	is.Equal(c.Release(), Release{
		Kaito:          "v0.12.0",
		Registry:       "mcr.microsoft.com/aks/kaito",
		BaseImage:      "mcr.microsoft.com/aks/kaito/kaito-base:0.5.0",
		AdapterPuller:  "mcr.microsoft.com/aks/skopeo:1.14.4-6",
		Pusher:         "ghcr.io/oras-project/oras:v1.2.2",
		WeightsPuller:  "mcr.microsoft.com/oss/v2/oras-project/oras:v1.2.3",
		DataDownloader: "curlimages/curl",
		Pause:          "registry.k8s.io/pause:latest",
	})
}

// TestCatalogFacts spot-checks entries against Kaito v0.12.0's files, one line per model.
func TestCatalogFacts(t *testing.T) {
	tests := []struct {
		name, id, served, alias string
		weights                 float64
		disk                    int
		bytesPerToken           int64
		transformers, gated     bool
		weightsImage            string // "" when Kaito cannot tune it
	}{
		{"microsoft/phi-4", "microsoft/phi-4", "phi-4", "phi-4", 27.31, 107, 204800, true, false, "mcr.microsoft.com/aks/kaito/kaito-phi-4:0.2.0"},
		// transformers parameters commented out in Kaito (transformers v5).
		{"microsoft/Phi-4-mini-instruct", "microsoft/phi-4-mini-instruct", "phi-4-mini-instruct", "phi-4-mini-instruct", 7.15, 87, 131072, false, false, "mcr.microsoft.com/aks/kaito/kaito-phi-4-mini-instruct:0.2.0"},
		{"meta-llama/Llama-3.3-70B-Instruct", "meta-llama/llama-3.3-70b-instruct", "llama-3.3-70b-instruct", "llama-3.3-70b-instruct", 131.42, 211, 327680, true, true, ""},
		// tuning parameters exist, but Kaito panics looking up the weights image of mistral-7b-v0.3.
		{"mistralai/Mistral-7B-v0.3", "mistralai/mistral-7b-v0.3", "mistral-7b-v0.3", "mistral-7b", 13.50, 93, 131072, true, false, ""},
		// transformers parameters filed under the legacy name, looked up by the served name.
		{"mistralai/Mistral-Large-3-675B-Instruct-2512", "mistralai/mistral-large-3-675b-instruct-2512", "mistral-large-3-675b-instruct-2512", "mistral-large-3-675b-instruct", 634.70, 714, 70272, false, false, ""},
		{"google/gemma-3-4b-it", "google/gemma-3-4b-it", "gemma-3-4b-it", "gemma-3-4b-instruct", 8.01, 88, 139264, true, false, ""},
		{"Qwen/Qwen2.5-Coder-32B-Instruct", "qwen/qwen2.5-coder-32b-instruct", "qwen2.5-coder-32b-instruct", "qwen2.5-coder-32b-instruct", 61.03, 141, 262144, true, false, "mcr.microsoft.com/aks/kaito/kaito-qwen2.5-coder-32b-instruct:0.2.0"},
		{"Qwen/Qwen3-8B-AWQ", "qwen/qwen3-8b-awq", "qwen3-8b-awq", "", 5.68, 85, 147456, false, false, ""},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m, ok := c.Model(tt.name)
			is.True(ok)
			is.Equal(m.Name, tt.name)
			is.Equal(m.HuggingFaceID, tt.id)
			is.Equal(m.ServedName, tt.served)
			if tt.alias != "" {
				is.Equal(m.Aliases, []string{tt.alias})
			} else {
				is.Equal(len(m.Aliases), 0)
			}
			is.True(m.Catalogued)
			is.True(m.MultiNode)
			is.Equal(m.WeightsGiB, tt.weights)
			is.Equal(m.DiskGiB, tt.disk)
			is.Equal(m.BytesPerToken, tt.bytesPerToken)
			is.Equal(m.Transformers != nil, tt.transformers)
			is.Equal(m.Gated, tt.gated)
			if tt.weightsImage == "" {
				is.True(m.Tuning == nil)
			} else {
				is.Equal(m.Tuning.WeightsImage, tt.weightsImage)
			}
		})
	}
}

func TestPhi3TuningEnv(t *testing.T) {
	is := is.New(t)
	for _, m := range Default().Models() {
		_, has := m.Tuning.envOf()["DEFAULT_TARGET_MODULES"]
		is.Equal(has, strings.HasPrefix(m.ServedName, "phi-3")) // phi-3*, phi-3.5*: Kaito's "phi-3" prefix
	}
}

func (t *TuningParams) envOf() map[string]string {
	if t == nil {
		return nil
	}
	return t.Env
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name, preset string
		wantName     string // the model's Name; "" when an error is wanted
		catalogued   bool
		errHas       []string
		unknown      bool
	}{
		{"legacy name", "phi-4-mini-instruct", "microsoft/Phi-4-mini-instruct", true, nil, false},
		{"legacy name in other case", "Phi-4", "microsoft/phi-4", true, nil, false},
		{"legacy name of another id", "gemma-3-27b-instruct", "google/gemma-3-27b-it", true, nil, false},
		{"HF id as the catalog spells it", "Qwen/Qwen3.5-9B", "Qwen/Qwen3.5-9B", true, nil, false},
		{"HF id in other case", "MICROSOFT/phi-3-MINI-4k-instruct", "microsoft/Phi-3-mini-4k-instruct", true, nil, false},
		{"uncatalogued HF id", "tiiuae/falcon-7b", "tiiuae/falcon-7b", false, nil, false},
		{"removed name", "falcon-7b", "", false, []string{`"falcon-7b"`, "removed in Kaito v0.11.0", `"tiiuae/falcon-7b"`}, false},
		{"removed name in other case", "Phi-2", "", false, []string{"v0.8.0", `"microsoft/phi-2"`}, false},
		{"removed llama 2", "llama-2-70b-chat", "", false, []string{"v0.4.6", `"meta-llama/Llama-2-70b-chat-hf"`}, false},
		{"unknown name", "gpt-5", "", false, []string{`unknown preset "gpt-5"`}, true},
		{"two slashes", "a/b/c", "", false, []string{"exactly one"}, false},
		{"empty org", "/model", "", false, []string{"must not be empty"}, false},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m, err := c.Resolve(tt.preset)
			if tt.wantName != "" {
				is.NoErr(err)
				is.Equal(m.Name, tt.wantName)
				is.Equal(m.Catalogued, tt.catalogued)
				return
			}
			is.True(err != nil)
			for _, s := range tt.errHas {
				is.True(strings.Contains(err.Error(), s)) // error names what is wrong
			}
			is.Equal(IsUnknown(err), tt.unknown)
			var re *RemovedError
			is.Equal(errors.As(err, &re), strings.Contains(err.Error(), "removed in"))
		})
	}
}

// TestHuggingFace: an uncatalogued id gets Kaito's name rules, the 80Gi disk floor, no sizes, and the
// transformers and tuning parameters of a catalogued model with the same served name.
func TestHuggingFace(t *testing.T) {
	c := Default()
	t.Run("name rules only", func(t *testing.T) {
		is := is.New(t)
		m, err := c.HuggingFace("SomeOrg/Qwen3.6-Tiny")
		is.NoErr(err)
		is.Equal(m, Model{
			Name: "SomeOrg/Qwen3.6-Tiny", HuggingFaceID: "someorg/qwen3.6-tiny", ServedName: "qwen3.6-tiny",
			DiskGiB: 80, MultiNode: true,
			VLLM: map[string]string{
				"load_format": "auto", "config_format": "auto", "tokenizer_mode": "auto", "trust-remote-code": "", "dtype": "bfloat16",
				"gdn-prefill-backend": "triton", "tool-call-parser": "qwen3_coder", "enable-auto-tool-choice": "", "reasoning-parser": "qwen3",
			},
		})
	})
	t.Run("served-name twin", func(t *testing.T) {
		is := is.New(t)
		m, err := c.HuggingFace("unsloth/phi-4")
		is.NoErr(err)
		phi4, _ := c.Model("phi-4")
		is.True(!m.Catalogued)
		is.Equal(m.Transformers, phi4.Transformers)
		is.Equal(m.Tuning, phi4.Tuning) // Kaito would tune it from microsoft/phi-4's weights image
	})
	t.Run("catalogued id", func(t *testing.T) {
		is := is.New(t)
		m, err := c.HuggingFace("openai/GPT-OSS-20B")
		is.NoErr(err)
		is.True(m.Catalogued)
		is.Equal(m.Name, "openai/gpt-oss-20b")
	})
	t.Run("not an id", func(t *testing.T) {
		is := is.New(t)
		_, err := c.HuggingFace("phi-4")
		is.True(err != nil)
	})
}

func TestLookupsHandOutCopies(t *testing.T) {
	is := is.New(t)
	c := Default()
	m, _ := c.Model("phi-4")
	m.VLLM["dtype"] = "float32"
	m.Aliases[0] = "x"
	m.Transformers.Run["torch_dtype"] = "x"
	m.Tuning.WeightsImage = "x"
	again, _ := c.Model("phi-4")
	is.Equal(again.VLLM["dtype"], "bfloat16")
	is.Equal(again.Aliases, []string{"phi-4"})
	is.Equal(again.Transformers.Run["torch_dtype"], "auto")
	is.Equal(again.Tuning.WeightsImage, "mcr.microsoft.com/aks/kaito/kaito-phi-4:0.2.0")

	models := c.Models()
	for i := 1; i < len(models); i++ {
		is.True(strings.ToLower(models[i-1].Name) < strings.ToLower(models[i].Name)) // sorted by name, ignoring case
	}
}

func TestSKU(t *testing.T) {
	tests := []struct {
		query, name, gpuModel string
		gpus                  int
		mem, cc               float64
		nvme, legacy          bool
	}{
		{"Standard_NC24ads_A100_v4", "Standard_NC24ads_A100_v4", "NVIDIA A100", 1, 80, 8.0, true, false},
		{"standard_nv36ads_a10_v5", "Standard_NV36ads_A10_v5", "NVIDIA A10", 1, 24, 8.6, false, false},
		{"Standard_ND96asr_v4", "Standard_ND96asr_A100_v4", "NVIDIA A100", 8, 320, 8.0, false, false}, // alias
		{"Standard_ND96isr_H200_v5", "Standard_ND96isr_H200_v5", "NVIDIA H200", 8, 1128, 9.0, true, false},
		{"Standard_NC6s_v3", "Standard_NC6s_v3", "NVIDIA V100", 1, 16, 7.0, false, true},
		{"Standard_NC64as_T4_v3", "Standard_NC64as_T4_v3", "NVIDIA T4", 4, 64, 7.5, false, true},
		{"Standard_NG32ads_V620_v1", "Standard_NG32ads_V620_v1", "AMD Radeon PRO V620", 1, 32, 0, false, false},
	}
	c := Default()
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			is := is.New(t)
			s, ok := c.SKU(tt.query)
			is.True(ok)
			is.Equal(s.Name, tt.name)
			is.Equal(s.GPUModel, tt.gpuModel)
			is.Equal(s.GPUCount, tt.gpus)
			is.Equal(s.GPUMemoryGiB, tt.mem)
			is.Equal(s.ComputeCapability, tt.cc)
			is.Equal(s.NVMe, tt.nvme)
			is.Equal(s.Legacy, tt.legacy)
		})
	}
	_, ok := c.SKU("Standard_D4s_v5")
	is.New(t).True(!ok)
}

// A minimal valid model, release and SKU for the Load tests to break one thing at a time.
const (
	okModel = `
- name: org/Model-7B
  huggingFaceID: org/model-7b
  servedName: model-7b
  weightsGiB: 13.5
  diskGiB: 93
  bytesPerToken: 131072
  tokenLimit: 4096
  architectures: [LlamaForCausalLM]
  multiNode: true
  vllm: {load_format: "auto", config_format: "auto", tokenizer_mode: "auto", dtype: "bfloat16"}
  transformers: null
  tuning: null
`
	okSKUs    = "skus:\n- {name: S, gpuCount: 1, gpuMemoryGiB: 80, gpuModel: NVIDIA A100, computeCapability: 8.0}\n"
	okRelease = `kaito: v0.12.0
registry: r.io/kaito
baseImage: r.io/kaito/kaito-base:0.5.0
adapterPuller: a
pusher: p
weightsPuller: w
dataDownloader: d
pause: x
`
)

func TestLoadStrict(t *testing.T) {
	tests := []struct {
		name, models, skus, release string
		errHas                      string
	}{
		{"valid", "models:" + okModel, okSKUs, okRelease, ""},
		{"unknown field", "models:" + okModel + "  family: llama\n", okSKUs, okRelease, "family"},
		{"unknown field in tuning", "models:" + strings.Replace(okModel, "tuning: null", "tuning: {weightsImage: r.io/kaito/kaito-model-7b:0.1, gpus: 1}", 1), okSKUs, okRelease, "gpus"},
		{"tuning forgotten", "models:" + strings.Replace(okModel, "  tuning: null\n", "", 1), okSKUs, okRelease, "tuning (its parameters, or null) is required"},
		{"transformers forgotten", "models:" + strings.Replace(okModel, "  transformers: null\n", "", 1), okSKUs, okRelease, "transformers (its parameters, or null) is required"},
		{"catalogued written", "models:" + okModel + "  catalogued: true\n", okSKUs, okRelease, "catalogued is not written"},
		{"disk not weights + 80", "models:" + strings.Replace(okModel, "diskGiB: 93", "diskGiB: 90", 1), okSKUs, okRelease, "diskGiB must be int(weightsGiB + 80) = 93"},
		{"served name", "models:" + strings.Replace(okModel, "servedName: model-7b", "servedName: Model-7B", 1), okSKUs, okRelease, "servedName must be"},
		{"id not lower-cased", "models:" + strings.Replace(okModel, "huggingFaceID: org/model-7b", "huggingFaceID: org/Model-7B", 1), okSKUs, okRelease, "huggingFaceID must be"},
		{"name not an id", "models:" + strings.Replace(okModel, "name: org/Model-7B", "name: model-7b", 1), okSKUs, okRelease, "not a Hugging Face id"},
		{"no vllm dtype", "models:" + strings.Replace(okModel, `, dtype: "bfloat16"`, "", 1), okSKUs, okRelease, "vllm.dtype is required"},
		{"weights image elsewhere", "models:" + strings.Replace(okModel, "tuning: null", "tuning: {weightsImage: docker.io/x:1}", 1), okSKUs, okRelease, "tuning.weightsImage"},
		{"duplicate alias", "models:" + strings.Replace(okModel, "servedName: model-7b", "servedName: model-7b\n  aliases: [m, m]", 1), okSKUs, okRelease, `"m" of org/Model-7B is already`},
		{"removed still resolves", "models:" + strings.Replace(okModel, "servedName: model-7b", "servedName: model-7b\n  aliases: [m7]", 1) + "removed:\n- {name: m7, release: v0.11.0}\n", okSKUs, okRelease, `"m7" still resolves`},
		{"removed release", "models:" + okModel + "removed:\n- {name: m7, release: 0.11}\n", okSKUs, okRelease, "not a Kaito release"},
		{"legacy SKU of CC 8", "models:" + okModel, strings.Replace(okSKUs, "8.0}", "8.0, legacy: true}", 1), okRelease, "legacy is for"},
		{"release of another Kaito", "models:" + okModel, okSKUs, strings.Replace(okRelease, "v0.12.0", "v0.11.0", 1), "kaito is v0.11.0"},
		{"release image missing", "models:" + okModel, okSKUs, strings.Replace(okRelease, "pause: x\n", "", 1), "pause is required"},
		{"no models", "models: []\n", okSKUs, okRelease, "no models"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			c, err := Load([]byte(tt.models), []byte(tt.skus), []byte(tt.release))
			if tt.errHas == "" {
				is.NoErr(err)
				is.Equal(len(c.Models()), 1)
				return
			}
			is.True(err != nil)
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error %q does not contain %q", err, tt.errHas)
			}
		})
	}
}
