package presets

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The rules below are how Kaito v0.12.0 turns a model id into vLLM arguments and runtime needs
// without reading its weights: by the served name's prefix and by the architecture its config.json
// declares. They live in presets/workspace/generator/generator.go (prefix and architecture tables,
// ParseModelMetadata, FinalizeParams), presets/workspace/models/vllm_model.go
// (GetInferenceParameters) and pkg/model/interface.go (architecture checks). kaito-sync uses them
// for Hugging Face ids the catalog does not list, and the tests check that they reproduce every
// catalogued model's arguments in data/models.yaml, so the data and the rules cannot drift apart.
//
// Where Kaito iterates a Go map of prefixes, the first prefix that matches in a random order wins.
// None of those tables has two prefixes where one starts the other, so the choice is never random;
// the code here takes the longest match, which is what Kaito gets whenever it is defined.

// reasoningParsers: --reasoning-parser by served-name prefix, then by architecture.
var (
	reasoningParserByPrefix = map[string]string{
		"deepseek-r1": "deepseek_r1", "deepseek-v3": "deepseek_v3", "deepseek-v4": "deepseek_v4",
		"ernie-4.5": "ernie45", "gemma-4": "gemma4", "glm-4.5": "glm45", "granite-3.2": "granite",
		"holo2": "holo2", "hunyuan-a13b": "hunyuan_a13b", "kimi-k2": "kimi_k2", "laguna": "poolside_v1",
		"minimax-m2": "minimax_m2_append_think", "minimax-m3": "minimax_m3", "mimo": "mimo",
		"mistral": "mistral", "olmo-3": "olmo3", "qwen3": "qwen3", "qwq-32b": "deepseek_r1", "step3": "step3",
	}
	reasoningParserByArch = map[string]string{
		"DeepseekV3ForCausalLM": "deepseek_v3", "Ernie4_5_VLMoeForConditionalGeneration": "ernie45",
		"Ernie4_5_MoeForCausalLM": "ernie45", "Gemma4ForConditionalGeneration": "gemma4",
		"Gemma4UnifiedForConditionalGeneration": "gemma4", "Glm4MoeForCausalLM": "glm45",
		"GlmMoeDsaForCausalLM": "glm45", "HunYuanMoEV1ForCausalLM": "hunyuan_a13b",
		"GraniteForCausalLM": "granite", "KimiK2ForCausalLM": "kimi_k2", "KimiK25ForConditionalGeneration": "kimi_k2",
		"MiniMaxM2ForCausalLM": "minimax_m2_append_think", "MiniMaxM3SparseForCausalLM": "minimax_m3",
		"MiniMaxM3SparseForConditionalGeneration": "minimax_m3", "MiMoForCausalLM": "mimo", "HYV3ForCausalLM": "hy_v3",
		"LagunaForCausalLM": "poolside_v1", "Mistral3ForConditionalGeneration": "mistral", "MistralForCausalLM": "mistral",
		"NemotronForCausalLM": "nemotron_v3", "NemotronHForCausalLM": "nemotron_v3", "NemotronH_Nano_VL_V2": "nemotron_v3",
		"OlmoForCausalLM": "olmo3", "Qwen3ForCausalLM": "qwen3", "Qwen3MoeForCausalLM": "qwen3",
		"Qwen3_5ForConditionalGeneration": "qwen3", "Qwen3_5MoeForConditionalGeneration": "qwen3",
		"GptOssForCausalLM": "openai_gptoss", "Step3TextForCausalLM": "step3", "Step3VLForConditionalGeneration": "step3",
	}
	// nonReasoningServedNames get no reasoning parser at all, whatever their prefix or architecture.
	nonReasoningServedNames = []string{
		"mistral-7b-v0.3", "mistral-7b-instruct-v0.3", "ministral-3-3b-instruct-2512",
		"ministral-3-8b-instruct-2512", "ministral-3-14b-instruct-2512", "mistral-large-3-675b-instruct-2512",
	}
)

// Tool-call parsers (--tool-call-parser, with --enable-auto-tool-choice): by served-name prefix,
// longest first (Kaito sorts the prefixes in reverse order, which puts a longer prefix before any
// prefix of it), then by architecture.
var (
	toolCallParserByPrefix = map[string]string{
		"hermes-2": "hermes", "hermes-3": "hermes", "mistral": "mistral", "meta-llama-3": "llama3_json",
		"meta-llama-4": "llama4_pythonic", "granite-3": "granite", "granite-4": "granite4", "internlm": "internlm",
		"ai21-jamba": "jamba", "llama-xlama": "xlam", "xlam": "xlam", "qwq-32b": "hermes", "qwen2.5": "hermes",
		"laguna": "poolside_v1", "minimax-m2": "minimax_m2", "minimax-m3": "minimax_m3", "mimo": "mimo",
		"lfm2": "lfm2", "apertus": "apertus", "deepseek-r1": "deepseek_v3", "deepseek-v3": "deepseek_v3",
		"deepseek-v3.1": "deepseek_v31", "deepseek-v3.2": "deepseek_v32", "deepseek-v4": "deepseek_v4",
		"kimi_k2": "kimi_k2", "hunyuan-a13b": "hunyuan_a13b", "longcat": "longcat", "glm-4": "glm45",
		"glm-4.7": "glm47", "qwen3": "hermes", "qwen3-coder": "qwen3_xml", "qwen3.5": "qwen3_coder",
		"qwen3.6": "qwen3_coder", "qwen3.8": "qwen3_coder", "olmo-3": "olmo3", "gigachat3": "gigachat3",
		"ernie-4.5": "ernie45", "phi4-mini": "phi4_mini_json", "step3p5": "step3p5", "step3": "step3",
		"seed-oss": "seed_oss", "gemma-3": "functiongemma", "gemma-4": "gemma4",
	}
	toolCallParserByArch = map[string]string{
		"MistralForCausalLM": "mistral", "MistralLarge3ForCausalLM": "mistral", "LlamaForCausalLM": "llama3_json",
		"Llama4ForConditionalGeneration": "llama4_pythonic", "GraniteForCausalLM": "granite",
		"GraniteMoeForCausalLM": "granite", "GraniteMoeHybridForCausalLM": "granite4",
		"GPTBigCodeForCausalLM": "granite-20b-fc", "InternLM2ForCausalLM": "internlm", "JambaForCausalLM": "jamba",
		"Qwen2ForCausalLM": "hermes", "Qwen3ForCausalLM": "hermes", "Qwen3MoeForCausalLM": "qwen3_xml",
		"Qwen3_5ForConditionalGeneration": "qwen3_coder", "Qwen3_5MoeForConditionalGeneration": "qwen3_coder",
		"MiniMaxM2ForCausalLM": "minimax_m2", "MiniMaxM3SparseForCausalLM": "minimax_m3",
		"MiniMaxM3SparseForConditionalGeneration": "minimax_m3", "MiMoForCausalLM": "mimo", "HYV3ForCausalLM": "hy_v3",
		"LagunaForCausalLM": "poolside_v1", "Lfm2ForCausalLM": "lfm2", "Lfm2MoeForCausalLM": "lfm2",
		"ApertusForCausalLM": "apertus", "DeepseekV3ForCausalLM": "deepseek_v3", "DeepseekV32ForCausalLM": "deepseek_v32",
		"GptOssForCausalLM": "openai", "HunYuanMoEV1ForCausalLM": "hunyuan_a13b", "LongcatFlashForCausalLM": "longcat",
		"Glm4MoeForCausalLM": "glm45", "Glm47MoeForCausalLM": "glm47", "GlmMoeDsaForCausalLM": "glm47",
		"Gemma3ForCausalLM": "functiongemma", "Gemma4ForConditionalGeneration": "gemma4",
		"Gemma4UnifiedForConditionalGeneration": "gemma4", "Olmo3ForCausalLM": "olmo3", "SeedOssForCausalLM": "seed_oss",
		"Ernie4_5_VLMoeForConditionalGeneration": "ernie45", "Ernie4_5_MoeForCausalLM": "ernie45",
		"Step3TextForCausalLM": "step3", "Step3p5TextForCausalLM": "step3p5", "NemotronHForCausalLM": "qwen3_coder",
		"NemotronH_Nano_VL_V2": "qwen3_coder", "Phi4MiniForCausalLM": "phi4_mini_json", "KimiK2ForCausalLM": "kimi_k2",
		"KimiK25ForConditionalGeneration": "kimi_k2", "GigaChat3ForCausalLM": "gigachat3",
	}
)

// Name-prefix rules of the other engine arguments.
var (
	// chatTemplateByPrefix: a template file of the kaito-base image's /workspace/chat_templates/.
	chatTemplateByPrefix = map[string]string{
		"deepseek-r1": "tool-chat-deepseekr1.jinja", "deepseek-v3": "tool-chat-deepseekv3.jinja",
		"gemma-4": "tool-chat-gemma4.jinja", "llama-3": "tool-chat-llama3.1-json.jinja",
		"phi-4-mini": "tool-chat-phi4-mini.jinja", "qwen2.5": "tool-chat-hermes.jinja",
	}
	// tokenizerModeByPrefix overrides tokenizer_mode whatever the weights' format said.
	tokenizerModeByPrefix = map[string]string{
		"deepseek-r1": "deepseek_v32", "deepseek-v3": "deepseek_v32", "deepseek-v4": "deepseek_v4",
	}
	kvCacheDtypeByPrefix      = map[string]string{"deepseek-v4": "fp8", "glm-5.2-fp8": "fp8"}
	gdnPrefillBackendByPrefix = map[string]string{"qwen3.5": "triton", "qwen3.6": "triton", "qwen3.8": "triton"}
	// Kaito's attention-backend prefix table and moe-backend name table are empty in v0.12.0.
	expertParallelPrefixes        = []string{"minimax-m2"}
	flashInferAutotuneOffPrefixes = []string{"deepseek-v3.2"}
)

// Architecture rules of pkg/model/interface.go.
var (
	// hybridKVCacheArchitectures need vLLM's hybrid KV cache manager, which LMCache cannot offload.
	hybridKVCacheArchitectures = []string{
		"NemotronHForCausalLM", "NemotronH_Nano_VL_V2", "NemotronHMTPModel", "NemotronHPuzzleForCausalLM",
		"Gemma4ForCausalLM", "Gemma4ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration",
		"Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration",
		"DeepseekV4ForCausalLM", "DeepseekV32ForCausalLM",
	}
	// lmCacheDisabledArchitectures hit an LMCache bug that crashes vLLM on aborted requests.
	lmCacheDisabledArchitectures = []string{"GptOssForCausalLM"}
	deepGEMMArchitectures        = []string{"DeepseekV4ForCausalLM", "DeepseekV32ForCausalLM", "GlmMoeDsaForCausalLM"}
	// requiresFlashInferServedNames JIT-compile FlashInfer kernels with nvcc. An exact served name,
	// not a prefix.
	requiresFlashInferServedNames = []string{"mistral-small-4-119b-2603"}
)

const (
	chatTemplateDir      = "/workspace/chat_templates/"
	defaultWeightsFormat = "auto"
	// uncataloguedDiskGiB is Kaito's SystemFileDiskSizeGiB: the weights volume of a model of
	// unknown size, and what every model's volume has on top of its weights.
	uncataloguedDiskGiB = 80
)

// longestPrefix returns the value of the longest key of table that starts name.
func longestPrefix(table map[string]string, name string) (string, bool) {
	best := ""
	for p := range table {
		if strings.HasPrefix(name, p) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		return "", false
	}
	return table[best], true
}

func hasPrefixIn(prefixes []string, name string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// byArch returns the value of the first architecture (in the model's order) the table knows.
func byArch(table map[string]string, archs []string) (string, bool) {
	for _, a := range archs {
		if v, ok := table[a]; ok {
			return v, true
		}
	}
	return "", false
}

func anyArchIn(archs, set []string) bool {
	return slices.ContainsFunc(archs, func(a string) bool { return slices.Contains(set, a) })
}

// vllmArgs is the engine arguments Kaito v0.12.0 gives a model before the per-workspace ones.
// servedName is the lower-cased last segment of the id; archs and quant come from its config.json;
// weightsFormat is "mistral" for repositories in Mistral's native format (consolidated*.safetensors,
// which Kaito learns from the file list, not the name) and "" or "auto" otherwise.
func vllmArgs(servedName string, archs []string, quant, weightsFormat string) map[string]string {
	if weightsFormat == "" {
		weightsFormat = defaultWeightsFormat
	}
	args := map[string]string{
		"load_format":       weightsFormat,
		"config_format":     weightsFormat,
		"tokenizer_mode":    weightsFormat,
		"trust-remote-code": "",
		"dtype":             "bfloat16",
	}
	if quant != "" {
		args["dtype"] = "auto" // vLLM picks the dtype of quantized weights
	}
	if mode, ok := longestPrefix(tokenizerModeByPrefix, servedName); ok {
		args["tokenizer_mode"] = mode
	}
	if v, ok := longestPrefix(kvCacheDtypeByPrefix, servedName); ok {
		args["kv-cache-dtype"] = v
	}
	if v, ok := longestPrefix(gdnPrefillBackendByPrefix, servedName); ok {
		args["gdn-prefill-backend"] = v
	}
	if hasPrefixIn(expertParallelPrefixes, servedName) {
		args["enable-expert-parallel"] = ""
	}
	if hasPrefixIn(flashInferAutotuneOffPrefixes, servedName) {
		args["kernel-config.enable_flashinfer_autotune"] = "False"
	}

	parser, ok := longestPrefix(toolCallParserByPrefix, servedName)
	if !ok {
		parser, ok = byArch(toolCallParserByArch, archs)
	}
	if ok {
		args["tool-call-parser"] = parser
		args["enable-auto-tool-choice"] = ""
	}
	if tmpl, ok := longestPrefix(chatTemplateByPrefix, servedName); ok {
		args["chat-template"] = chatTemplateDir + tmpl
	}
	if !slices.Contains(nonReasoningServedNames, servedName) {
		parser, ok := longestPrefix(reasoningParserByPrefix, servedName)
		if !ok {
			parser, ok = byArch(reasoningParserByArch, archs)
		}
		if ok {
			args["reasoning-parser"] = parser
		}
	}
	return args
}

// runtimeNeeds are the flags Kaito's controller derives from a model's architectures and name.
type runtimeNeeds struct {
	cudaToolkit, deepGEMM, kvCacheOffloadOff bool
}

func needsOf(servedName string, archs []string) runtimeNeeds {
	deepGEMM := anyArchIn(archs, deepGEMMArchitectures)
	return runtimeNeeds{
		deepGEMM:          deepGEMM,
		cudaToolkit:       deepGEMM || slices.Contains(requiresFlashInferServedNames, servedName),
		kvCacheOffloadOff: anyArchIn(archs, hybridKVCacheArchitectures) || anyArchIn(archs, lmCacheDisabledArchitectures),
	}
}

// servedNameOf is --served-model-name: the id's last segment, lower-cased.
func servedNameOf(id string) string {
	return strings.ToLower(id[strings.LastIndex(id, "/")+1:])
}

// splitHuggingFaceID checks that id is "org/model" with both parts non-empty and no second "/".
func splitHuggingFaceID(id string) error {
	org, model, ok := strings.Cut(id, "/")
	switch {
	case !ok:
		return fmt.Errorf("%q is not a Hugging Face id: want org/model", id)
	case org == "" || model == "":
		return fmt.Errorf("%q is not a Hugging Face id: org and model must not be empty", id)
	case strings.Contains(model, "/"):
		return fmt.Errorf("%q is not a Hugging Face id: want exactly one \"/\" (org/model)", id)
	case strings.TrimSpace(id) != id || strings.ContainsAny(id, " \t\n"):
		return fmt.Errorf("%q is not a Hugging Face id: it contains spaces", id)
	}
	return nil
}

// HuggingFace returns the model Kaito v0.12.0 would make for a Hugging Face id its catalog does not
// list, as far as can be known without reading huggingface.co: Catalogued is false, the sizes are
// unknown (0) and the disk is Kaito's 80Gi floor; the vLLM arguments follow the name rules only,
// since the architectures are unknown, and assume unquantized weights in the usual format.
//
// Kaito looks transformers and tuning parameters up by served name alone, so an id whose last
// segment is the served name of a catalogued model (e.g. "someorg/phi-4") gets that model's
// transformers and tuning parameters, tuning weights image included. This reproduces that.
//
// A catalogued id (in any case) returns its catalog entry.
func (c *Catalog) HuggingFace(id string) (Model, error) {
	if err := splitHuggingFaceID(id); err != nil {
		return Model{}, err
	}
	if m, ok := c.Model(id); ok {
		return m, nil
	}
	served := servedNameOf(id)
	needs := needsOf(served, nil)
	m := Model{
		Name:                id,
		HuggingFaceID:       strings.ToLower(id),
		ServedName:          served,
		Catalogued:          false,
		DiskGiB:             uncataloguedDiskGiB,
		MultiNode:           true,
		VLLM:                vllmArgs(served, nil, "", ""),
		RequiresCUDAToolkit: needs.cudaToolkit,
		RequiresDeepGEMM:    needs.deepGEMM,
		KVCacheOffloadOff:   needs.kvCacheOffloadOff,
	}
	if i, ok := c.byServed[served]; ok {
		twin := copyModel(c.models[i])
		m.Transformers, m.Tuning = twin.Transformers, twin.Tuning
	}
	return m, nil
}

// Runtimes lists the runtimes Kaito v0.12.0 serves the model on: vLLM always, transformers when it
// has transformers parameters for it.
func (m Model) Runtimes() []Runtime {
	if m.Transformers != nil {
		return []Runtime{RuntimeVLLM, RuntimeTransformers}
	}
	return []Runtime{RuntimeVLLM}
}

// Supports reports whether Kaito serves the model on r.
func (m Model) Supports(r Runtime) bool { return slices.Contains(m.Runtimes(), r) }

// errUnknown is wrapped by Resolve's error for a name that is neither a preset nor a Hugging Face id.
var errUnknown = errors.New("unknown preset")

// IsUnknown reports whether err is Resolve's "unknown preset" error (rather than a removed preset
// or a malformed Hugging Face id).
func IsUnknown(err error) bool { return errors.Is(err, errUnknown) }

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	return maps.Clone(m)
}
