package presets

import (
	"testing"

	"github.com/matryer/is"
)

// TestRulesReproduceCatalog is what keeps data/models.yaml and derive.go from drifting apart: for
// every catalogued model, Kaito's name and architecture rules must give exactly the vLLM
// arguments and runtime needs the data file records. The only input taken from the arguments
// themselves is the weights' format (Mistral's native format), which Kaito learns from the
// repository's file list, not from the name.
func TestRulesReproduceCatalog(t *testing.T) {
	for _, m := range Default().Models() {
		t.Run(m.Name, func(t *testing.T) {
			is := is.New(t)
			format := ""
			if m.VLLM["load_format"] == "mistral" {
				format = "mistral"
			}
			is.Equal(vllmArgs(m.ServedName, m.Architectures, m.QuantMethod, format), m.VLLM)
			needs := needsOf(m.ServedName, m.Architectures)
			is.Equal(needs.deepGEMM, m.RequiresDeepGEMM)
			is.Equal(needs.cudaToolkit, m.RequiresCUDAToolkit)
			is.Equal(needs.kvCacheOffloadOff, m.KVCacheOffloadOff)
			is.True(!m.DisallowLoRA) // Kaito v0.12.0 never sets it for its vLLM models
			is.True(m.MultiNode)
		})
	}
}

// TestRules pins the rules whose order matters, on names the catalog may not have.
func TestRules(t *testing.T) {
	tests := []struct {
		name, served string
		archs        []string
		quant        string
		want         map[string]string // checked keys; "-" means absent
	}{
		// tool-call prefixes: the longest wins (qwen3-coder before qwen3, deepseek-v3.2 before deepseek-v3).
		{"longest tool prefix", "qwen3-coder-30b-a3b-instruct", nil, "", map[string]string{"tool-call-parser": "qwen3_xml", "reasoning-parser": "qwen3"}},
		{"shorter tool prefix", "qwen3-8b", nil, "", map[string]string{"tool-call-parser": "hermes"}},
		{"deepseek-v3.2", "deepseek-v3.2-exp", nil, "fp8", map[string]string{
			"tool-call-parser": "deepseek_v32", "reasoning-parser": "deepseek_v3", "tokenizer_mode": "deepseek_v32",
			"chat-template": "/workspace/chat_templates/tool-chat-deepseekv3.jinja", "kernel-config.enable_flashinfer_autotune": "False", "dtype": "auto"}},
		// the name prefix beats the architecture; the architecture is the fallback.
		{"prefix before architecture", "granite-3.2-8b-instruct", []string{"LlamaForCausalLM"}, "", map[string]string{"tool-call-parser": "granite", "reasoning-parser": "granite"}},
		{"architecture fallback", "my-llama", []string{"LlamaForCausalLM"}, "", map[string]string{"tool-call-parser": "llama3_json", "enable-auto-tool-choice": "", "reasoning-parser": "-"}},
		{"first known architecture", "x", []string{"Unknown", "Qwen3MoeForCausalLM", "LlamaForCausalLM"}, "", map[string]string{"tool-call-parser": "qwen3_xml", "reasoning-parser": "qwen3"}},
		// non-reasoning models get no reasoning parser even where the architecture has one.
		{"non-reasoning", "ministral-3-8b-instruct-2512", []string{"Mistral3ForConditionalGeneration"}, "fp8", map[string]string{"reasoning-parser": "-"}},
		{"reasoning by architecture", "ministral-3-8b-instruct-2601", []string{"Mistral3ForConditionalGeneration"}, "", map[string]string{"reasoning-parser": "mistral"}},
		// phi-4-mini gets its chat template but no tool-call parser: Kaito's prefix is "phi4-mini".
		{"phi-4-mini", "phi-4-mini-instruct", []string{"Phi3ForCausalLM"}, "", map[string]string{"chat-template": "/workspace/chat_templates/tool-chat-phi4-mini.jinja", "tool-call-parser": "-", "enable-auto-tool-choice": "-"}},
		{"minimax expert parallel", "minimax-m2.5", nil, "", map[string]string{"enable-expert-parallel": "", "tool-call-parser": "minimax_m2", "reasoning-parser": "minimax_m2_append_think"}},
		{"kv cache fp8", "deepseek-v4-pro", nil, "", map[string]string{"kv-cache-dtype": "fp8", "tokenizer_mode": "deepseek_v4", "tool-call-parser": "deepseek_v4"}},
		{"no rules", "my-model", nil, "", map[string]string{"load_format": "auto", "dtype": "bfloat16", "trust-remote-code": "", "tool-call-parser": "-", "reasoning-parser": "-", "chat-template": "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got := vllmArgs(tt.served, tt.archs, tt.quant, "")
			for k, want := range tt.want {
				v, ok := got[k]
				if want == "-" {
					is.True(!ok) // absent
					continue
				}
				is.True(ok)
				is.Equal(v, want)
			}
		})
	}
}

func TestNeeds(t *testing.T) {
	tests := []struct {
		served string
		archs  []string
		want   runtimeNeeds
	}{
		{"deepseek-v4-flash", []string{"DeepseekV4ForCausalLM"}, runtimeNeeds{cudaToolkit: true, deepGEMM: true, kvCacheOffloadOff: true}},
		{"glm-5.2-fp8", []string{"GlmMoeDsaForCausalLM"}, runtimeNeeds{cudaToolkit: true, deepGEMM: true}},
		// FlashInfer by exact served name: the NVFP4 variant does not get it.
		{"mistral-small-4-119b-2603", []string{"Mistral3ForConditionalGeneration"}, runtimeNeeds{cudaToolkit: true}},
		{"mistral-small-4-119b-2603-nvfp4", []string{"Mistral3ForConditionalGeneration"}, runtimeNeeds{}},
		{"gpt-oss-20b", []string{"GptOssForCausalLM"}, runtimeNeeds{kvCacheOffloadOff: true}},
		{"qwen3.5-9b", []string{"Qwen3_5ForConditionalGeneration"}, runtimeNeeds{kvCacheOffloadOff: true}},
		{"phi-4", []string{"Phi3ForCausalLM"}, runtimeNeeds{}},
	}
	for _, tt := range tests {
		t.Run(tt.served, func(t *testing.T) {
			is.New(t).Equal(needsOf(tt.served, tt.archs), tt.want)
		})
	}
}
