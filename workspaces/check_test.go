package workspaces

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

// qwenWithConfig is a workspace (lines 1-13) and the ConfigMap it names (lines 15-23) in one file.
const qwenWithConfig = `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: qwen
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: qwen
inference:
  preset:
    name: qwen2.5-coder-7b-instruct
  config: qwen-params
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: qwen-params
data:
  inference_config.yaml: |
    vllm:
      max-model-len: 4096
      gpu-memory-utilization: 0.9
`

// qwenAlone is the workspace of qwenWithConfig without its ConfigMap.
var qwenAlone = strings.SplitAfter(qwenWithConfig, "---\n")[0]

// tuningWithConfig is the volume tuning workspace with a training config (line 14) and the
// ConfigMap (lines 24-33) and claims it uses.
const tuningWithConfig = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: tune
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: tuning
tuning:
  preset:
    name: phi-3-mini-4k-instruct
  method: lora
  config: lora-params
  input:
    volumeSource:
      persistentVolumeClaim:
        claimName: tuning-input
  output:
    volumeSource:
      persistentVolumeClaim:
        claimName: tuning-output
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: lora-params
data:
  training_config.yaml: |
    training_config:
      LoraConfig:
        r: 8
        lora_alpha: 8
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: tuning-input
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: 50Gi
`

func TestCheckCompanions(t *testing.T) {
	const cm = "ConfigMap/default/qwen-params"
	withData := func(data string) string {
		return strings.Replace(qwenWithConfig, "  inference_config.yaml: |\n    vllm:\n      max-model-len: 4096\n      gpu-memory-utilization: 0.9\n", data, 1)
	}
	tests := []struct {
		name  string
		files map[string]string
		opts  CheckOptions
		want  []problemWant
		valid []string // keys of Set.Valid()
	}{
		{
			name:  "inference config beside its workspace",
			files: map[string]string{"ws.yaml": qwenWithConfig},
			valid: []string{"default/qwen"},
		},
		{
			name:  "tuning config and claims beside their workspace",
			files: map[string]string{"ws.yaml": tuningWithConfig},
			valid: []string{"default/tune"},
		},
		{
			name:  "ConfigMap without inference_config.yaml",
			files: map[string]string{"ws.yaml": withData("  config.yaml: |\n    vllm: {}\n")},
			want:  []problemWant{{sev: Error, field: "data", line: 19, ws: cm, msg: `ConfigMap qwen-params is used as a Kaito config but has no "inference_config.yaml" key`}},
		},
		{
			name:  "inference_config.yaml is not valid YAML: the line is inside the block",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: 4096: x\n")},
			want:  []problemWant{{sev: Error, field: `data["inference_config.yaml"]`, line: 22, ws: cm, msg: "inference_config.yaml is not valid YAML: mapping values are not allowed"}},
		},
		// Kaito reads the file into {vllm: map[string]string} (validateInferenceConfig).
		{
			name:  "inference_config.yaml without a vllm map",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    max-model-len: 4096\n")},
			want:  []problemWant{{sev: Warning, field: `data["inference_config.yaml"]`, line: 20, ws: "default/qwen", msg: `inference_config.yaml has no vllm: map, so Kaito passes vLLM no settings from it`}},
			valid: []string{"default/qwen"},
		},
		{
			name:  "inference_config.yaml with vllm not a map",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    vllm: fast\n")},
			want:  []problemWant{{sev: Error, field: `data["inference_config.yaml"]`, line: 21, ws: "default/qwen", msg: `vllm: must be a map of vLLM settings (flag: value), not a string`}},
		},
		{
			name:  "inference_config.yaml that is a list, not a mapping",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    - max-model-len: 4096\n")},
			want:  []problemWant{{sev: Error, field: `data["inference_config.yaml"]`, line: 21, ws: "default/qwen", msg: `inference_config.yaml must be a mapping with a vllm: map of settings, not a list`}},
		},
		{
			name:  "vllm settings that are a list and a map",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: 4096\n      stop: [a, b]\n      speculative-config:\n        method: ngram\n")},
			want: []problemWant{
				{sev: Error, field: `data["inference_config.yaml"]`, line: 23, ws: "default/qwen", msg: "Kaito reads each vllm: setting as a single value (flag: value) and refuses a list here: write it as one string"},
				{sev: Error, field: `data["inference_config.yaml"]`, line: 25, ws: "default/qwen", msg: "refuses a map here"},
			},
		},
		{
			name:  "a vllm setting that is a map written as one string",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    vllm:\n      speculative-config: '{\"method\": \"ngram\"}'\n      enforce-eager: \"\"\n    max_probe_steps: 6\n")},
			valid: []string{"default/qwen"},
		},
		{
			name:  "max-model-len auto",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    vllm:\n      gpu-memory-utilization: 0.9\n      max-model-len: auto\n")},
			want: []problemWant{{sev: Error, field: `data["inference_config.yaml"]`, line: 23, ws: "default/qwen",
				msg: `max-model-len "auto" must be a whole number of tokens (Kaito refuses anything else, "auto" too): write one up to 32768, Qwen/Qwen2.5-Coder-7B-Instruct's context window, or remove it`}},
		},
		{
			name:  "max-model-len beyond the model's context window",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: 65536\n")},
			want: []problemWant{{sev: Error, field: `data["inference_config.yaml"]`, line: 22, ws: "default/qwen",
				msg: "max-model-len 65536 exceeds Qwen/Qwen2.5-Coder-7B-Instruct's context window of 32768 tokens: lower it to 32768 or less"}},
		},
		{
			name:  "max-model-len at the model's context window",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: \" 32768 \"\n")},
			valid: []string{"default/qwen"},
		},
		// The transformers runtime skips Kaito's inference config checks.
		{
			name: "transformers: the vllm settings are not judged",
			files: map[string]string{"ws.yaml": strings.Replace(withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: auto\n      stop: [a]\n"),
				"  name: qwen\n", "  name: qwen\n  annotations:\n    kaito.sh/runtime: transformers\n", 1)},
			valid: []string{"default/qwen"},
		},
		// A template has no preset, so no context window to judge max-model-len by; the file still
		// has to read as {vllm: map[string]string}.
		{
			name: "template with an inference config",
			files: map[string]string{"ws.yaml": strings.Replace(withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: auto\n      stop: [a]\n"),
				"  preset:\n    name: qwen2.5-coder-7b-instruct\n", "  template:\n    spec:\n      containers:\n        - {name: server, image: myregistry.azurecr.io/server:1.0}\n", 1)},
			want: []problemWant{{sev: Error, field: `data["inference_config.yaml"]`, line: 25, ws: "default/qwen", msg: "refuses a list here"}},
		},
		{
			name:  "tuning ConfigMap without training_config.yaml",
			files: map[string]string{"ws.yaml": strings.Replace(tuningWithConfig, "  training_config.yaml: |\n", "  inference_config.yaml: |\n", 1)},
			want:  []problemWant{{sev: Error, field: "data", line: 28, ws: "ConfigMap/default/lora-params", msg: `has no "training_config.yaml" key`}},
		},
		{
			name:  "training_config.yaml without a training_config map",
			files: map[string]string{"ws.yaml": strings.Replace(tuningWithConfig, "    training_config:\n", "    training:\n", 1)},
			want:  []problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 29, ws: "ConfigMap/default/lora-params", msg: `training_config.yaml needs a "training_config:" map of settings`}},
		},
		{
			name:  "referenced ConfigMap missing",
			files: map[string]string{"ws.yaml": qwenAlone},
			want:  []problemWant{{sev: Warning, field: "inference.config", line: 13, ws: "default/qwen", msg: `ConfigMap "qwen-params" is not in the repository: it must already exist in namespace default`}},
			valid: []string{"default/qwen"},
		},
		{
			name:  "referenced ConfigMap known to exist in the cluster",
			files: map[string]string{"ws.yaml": qwenAlone},
			opts:  CheckOptions{KnownConfigMaps: []string{"default/qwen-params"}},
			valid: []string{"default/qwen"},
		},
		{
			name:  "a ConfigMap known in another namespace does not count",
			files: map[string]string{"ws.yaml": qwenAlone},
			opts:  CheckOptions{KnownConfigMaps: []string{"other/qwen-params"}},
			want:  []problemWant{{sev: Warning, field: "inference.config", line: 13, msg: `ConfigMap "qwen-params" is not in the repository`}},
			valid: []string{"default/qwen"},
		},
		{
			name:  "referenced ConfigMap declared in another namespace",
			files: map[string]string{"ws.yaml": strings.Replace(qwenWithConfig, "  name: qwen-params\n", "  name: qwen-params\n  namespace: llm\n", 1)},
			want: []problemWant{
				{sev: Warning, field: "inference.config", line: 13, ws: "default/qwen", msg: `(one with this name is declared at ws.yaml:15:1, in namespace llm)`},
				{sev: Warning, field: "", line: 15, ws: "ConfigMap/llm/qwen-params", msg: "ConfigMap qwen-params is not referenced by any workspace in this folder"},
			},
			valid: []string{"default/qwen"},
		},
		{
			name: "unreferenced companions warn",
			files: map[string]string{
				"ws.yaml":  strings.Replace(qwenAlone, "  config: qwen-params\n", "", 1),
				"cms.yaml": strings.SplitAfter(qwenWithConfig, "---\n")[1] + "---\n" + strings.SplitAfter(tuningWithConfig, "---\n")[2],
			},
			want: []problemWant{
				{sev: Warning, path: "cms.yaml", line: 1, ws: cm, msg: "ConfigMap qwen-params is not referenced by any workspace in this folder: it is applied only with a workspace that uses it"},
				{sev: Warning, path: "cms.yaml", line: 11, ws: "PersistentVolumeClaim/default/tuning-input", msg: "PersistentVolumeClaim tuning-input is not referenced"},
			},
			valid: []string{"default/qwen"},
		},
		{
			name:  "a workspace whose claim has an error is not valid",
			files: map[string]string{"ws.yaml": strings.Replace(tuningWithConfig, "  accessModes:", "  acessModes:", 1)},
			want: []problemWant{{sev: Error, field: "spec.acessModes", line: 40, ws: "PersistentVolumeClaim/default/tuning-input",
				msg: `unknown field "acessModes" (did you mean "accessModes"?)`}},
		},
		{
			name: "an error in one companion leaves other workspaces valid",
			files: map[string]string{
				"a.yaml": withData("  config.yaml: x\n"),
				"b.yaml": strings.Replace(strings.Replace(qwenAlone, "name: qwen\n", "name: other\n", 1), "  config: qwen-params\n", "", 1),
			},
			want:  []problemWant{{sev: Error, path: "a.yaml", field: "data", line: 19, ws: cm, msg: `has no "inference_config.yaml" key`}},
			valid: []string{"default/other"},
		},
		// Kaito's controller hands the estimator max-model-len (ParseExplicitMaxModelLen); the
		// estimate replaces count.
		{
			name:  "max-model-len from the config sizes the node",
			files: map[string]string{"ws.yaml": strings.Replace(withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: 32768\n"), "qwen2.5-coder-7b-instruct", "gemma-3-27b-instruct", 1)},
			want: []problemWant{{sev: Warning, field: "resource.instanceType", line: 6, ws: "default/qwen",
				msg: "Kaito runs 2 × Standard_NC24ads_A100_v4 (the default count of 1 is replaced by its estimate: google/gemma-3-27b-it needs 2 GPUs of 80Gi for 51.1Gi of weights at max-model-len 32768)"}},
			valid: []string{"default/qwen"},
		},
		// The controller reads the line as text: a quoted number is not one to it (the webhook,
		// reading YAML, takes it).
		{
			name:  "max-model-len in quotes is not read by the estimator",
			files: map[string]string{"ws.yaml": strings.Replace(withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: \"32768\"\n"), "qwen2.5-coder-7b-instruct", "gemma-3-27b-instruct", 1)},
			valid: []string{"default/qwen"},
		},
		{
			name:  "the default max-model-len fits where a long one does not",
			files: map[string]string{"ws.yaml": strings.Replace(qwenWithConfig, "qwen2.5-coder-7b-instruct", "gemma-3-27b-instruct", 1)},
			valid: []string{"default/qwen"},
		},
		// EstimateNodes fails: one GPU cannot hold the runtime and the KV cache, whatever count says.
		{
			name: "GPU too small at any count",
			files: map[string]string{"ws.yaml": strings.Replace(strings.Replace(withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: 131072\n"),
				"qwen2.5-coder-7b-instruct", "gemma-3-27b-instruct", 1), "Standard_NC24ads_A100_v4", "Standard_NV36ads_A10_v5", 1)},
			want: []problemWant{{sev: Error, field: "resource.instanceType", line: 6, ws: "default/qwen",
				msg: "google/gemma-3-27b-it cannot run on Standard_NV36ads_A10_v5 at any count: each NVIDIA A10 GPU can give vLLM 20.2Gi but the runtime and the KV cache for max-model-len 131072 take 64.3Gi; lower max-model-len or pick a SKU with more memory per GPU; SKUs that fit: "}},
		},
		{
			name: "GPU too small, bypassed",
			files: map[string]string{"ws.yaml": strings.Replace(strings.Replace(strings.Replace(withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: 131072\n"),
				"qwen2.5-coder-7b-instruct", "gemma-3-27b-instruct", 1), "Standard_NC24ads_A100_v4", "Standard_NV36ads_A10_v5", 1),
				"  name: qwen\n", "  name: qwen\n  annotations:\n    kaito.sh/bypass-resource-checks: \"\"\n", 1)},
			want: []problemWant{
				{sev: Warning, field: `metadata.annotations["kaito.sh/bypass-resource-checks"]`, line: 6, msg: "GPU memory checks are bypassed"},
				{sev: Warning, field: "resource.instanceType", line: 8, msg: "cannot run on Standard_NV36ads_A10_v5 at any count"},
			},
			valid: []string{"default/qwen"},
		},
		{
			name:  "a ConfigMap used by two workspaces is judged once",
			files: map[string]string{"ws.yaml": withData("  config.yaml: x\n"), "b.yaml": strings.Replace(qwenAlone, "name: qwen\n", "name: other\n", 1)},
			want:  []problemWant{{sev: Error, path: "ws.yaml", field: "data", line: 19, ws: cm, msg: `has no "inference_config.yaml" key`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := checkYAMLWith(t, tt.files, Options{}, tt.opts)
			assertProblems(t, s.Problems, tt.want)
			var valid []string
			for _, ws := range s.Valid() {
				valid = append(valid, ws.Key())
			}
			is.Equal(valid, tt.valid) // Set.Valid()
		})
	}
}

func TestCheckOwnersAndReferences(t *testing.T) {
	is := is.New(t)
	second := strings.Replace(qwenAlone, "name: qwen\n", "name: coder\n", 1)
	s := checkYAML(t, map[string]string{"a.yaml": qwenWithConfig, "b.yaml": second})
	assertProblems(t, s.Problems, nil)
	is.Equal(len(s.Companions), 1)
	is.Equal(s.Companions[0].Owners, []string{"default/coder", "default/qwen"}) // sorted, each once

	s = checkYAML(t, map[string]string{"ws.yaml": tuningWithConfig})
	is.Equal(References(s.Workspaces[0]), []string{
		"ConfigMap/default/lora-params",
		"PersistentVolumeClaim/default/tuning-input",
		"PersistentVolumeClaim/default/tuning-output",
	})
}

func TestCheckDuplicates(t *testing.T) {
	other := func(doc, ns string) string {
		return strings.Replace(doc, "  name: ws\n", "  name: ws\n  namespace: "+ns+"\n", 1)
	}
	tests := []struct {
		name       string
		files      map[string]string
		errorsOnly bool // compare only the errors
		want       []problemWant
		valid      int
	}{
		{
			name:  "same workspace in two files",
			files: map[string]string{"a.yaml": baseInference, "b.yaml": baseTemplate},
			want: []problemWant{
				{sev: Error, path: "b.yaml", field: "metadata.name", line: 1, ws: "default/ws", msg: "Workspace default/ws is declared twice: here and first at a.yaml:1:1"},
			},
		},
		{
			name:  "same workspace twice in one file",
			files: map[string]string{"ws.yaml": baseInference + "---\n" + baseAdapters},
			want: []problemWant{
				{sev: Error, field: "metadata.name", line: 14, msg: "declared twice: here and first at ws.yaml:1:1"},
			},
		},
		{
			name:  "no namespace and the default namespace are the same",
			files: map[string]string{"a.yaml": baseInference, "b.yaml": other(baseTemplate, "default")},
			want: []problemWant{
				{sev: Error, path: "b.yaml", field: "metadata.name", line: 1, ws: "default/ws", msg: "declared twice"},
			},
		},
		{
			// One problem per declaration after the first, each naming the first: never a pair twice.
			name:  "same workspace in three files",
			files: map[string]string{"a.yaml": baseInference, "b.yaml": baseTemplate, "c.yaml": baseAdapters},
			want: []problemWant{
				{sev: Error, path: "b.yaml", field: "metadata.name", line: 1, ws: "default/ws", msg: "Workspace default/ws is declared 3 times: here and first at a.yaml:1:1"},
				{sev: Error, path: "c.yaml", field: "metadata.name", line: 1, ws: "default/ws", msg: "Workspace default/ws is declared 3 times: here and first at a.yaml:1:1"},
			},
		},
		{
			name:  "same name in two namespaces",
			files: map[string]string{"a.yaml": baseInference, "b.yaml": other(baseTemplate, "team-a")},
			valid: 2,
		},
		{
			name:  "a ConfigMap named like a workspace",
			files: map[string]string{"ws.yaml": strings.Replace(qwenWithConfig, "name: qwen-params", "name: qwen", 1)},
			// the reference now misses, the ConfigMap goes unused: nothing is declared twice
			want: []problemWant{
				{sev: Warning, field: "inference.config", line: 13, msg: `ConfigMap "qwen-params" is not in the repository`},
				{sev: Warning, field: "", line: 15, ws: "ConfigMap/default/qwen", msg: "is not referenced"},
			},
			valid: 1,
		},
		{
			name:       "same ConfigMap in two files",
			files:      map[string]string{"a.yaml": qwenWithConfig, "b.yaml": strings.SplitAfter(qwenWithConfig, "---\n")[1]},
			errorsOnly: true,
			want: []problemWant{
				{sev: Error, path: "b.yaml", field: "metadata.name", line: 1, ws: "ConfigMap/default/qwen-params", msg: "ConfigMap default/qwen-params is declared twice: here and first at a.yaml:15:1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := checkYAML(t, tt.files)
			got := s.Problems
			if tt.errorsOnly {
				got = got.Errors()
			}
			assertProblems(t, got, tt.want)
			is.Equal(len(s.Valid()), tt.valid) // neither copy of a duplicate is applied
		})
	}
}

func TestCheckNamespaceDefaulting(t *testing.T) {
	is := is.New(t)
	s := checkYAMLWith(t, map[string]string{"ws.yaml": qwenWithConfig}, Options{DefaultNamespace: "llm"}, CheckOptions{})
	assertProblems(t, s.Problems, nil)
	is.Equal(s.Workspaces[0].Key(), "llm/qwen")
	is.Equal(s.Companions[0].Key(), "ConfigMap/llm/qwen-params")
	is.Equal(s.Companions[0].Owners, []string{"llm/qwen"}) // the reference resolves in the defaulted namespace

	// Problems of a workspace without a namespace name the defaulted one.
	s = checkYAMLWith(t, map[string]string{"ws.yaml": qwenAlone}, Options{DefaultNamespace: "llm"}, CheckOptions{})
	assertProblems(t, s.Problems, []problemWant{{sev: Warning, field: "inference.config", line: 13, ws: "llm/qwen", msg: "it must already exist in namespace llm"}})

	// An explicit namespace wins over the default.
	s = checkYAML(t, map[string]string{"ws.yaml": baseBYO})
	is.Equal(s.Workspaces[0].Key(), "team-a/ws")
	s = checkYAML(t, map[string]string{"ws.yaml": baseInference})
	is.Equal(s.Workspaces[0].Key(), "default/ws")
}

// TestCheckDecoderErrorsAreNotRepeated: a value the decoder refused is dropped; the validator must
// not then claim that its parent is missing.
func TestCheckDecoderErrorsAreNotRepeated(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []problemWant
	}{
		{"typo inside inference", strings.Replace(baseInference, "    name: phi-3-mini-4k-instruct", "    nmae: phi-3-mini-4k-instruct", 1),
			[]problemWant{{sev: Error, field: "inference.preset.nmae", line: 12, msg: `unknown field "nmae" (did you mean "name"?)`}}},
		{"typo inside tuning", strings.Replace(baseTuningURLs, "  method: qlora", "  methd: qlora", 1),
			[]problemWant{{sev: Error, field: "tuning.methd", line: 13, msg: `unknown field "methd"`}}},
		{"number inside labelSelector", strings.Replace(baseInference, "apps: phi", "apps: 3", 1),
			[]problemWant{{sev: Error, field: "resource.labelSelector.matchLabels.apps", line: 9, msg: "expected a string"}}},
		{"inference written as null is still missing", strings.Replace(baseInference, "inference:\n  preset:\n    name: phi-3-mini-4k-instruct\n", "inference: null\n", 1),
			[]problemWant{{sev: Error, field: "", line: 1, msg: "a workspace needs inference"}}},
		{"labelSelector written as null is still missing", strings.Replace(baseInference, "  labelSelector:\n    matchLabels:\n      apps: phi\n", "  labelSelector: ~\n", 1),
			[]problemWant{{sev: Error, field: "resource.labelSelector", line: 7, msg: "a labelSelector with matchLabels is required"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblems(t, checkYAML(t, map[string]string{"ws.yaml": tt.doc}).Problems, tt.want)
		})
	}
}

func TestCheckProblemString(t *testing.T) {
	is := is.New(t)
	s := checkYAML(t, map[string]string{"ws.yaml": strings.Replace(baseInference, "  name: ws\n", "  name: ws\n  annotations:\n    kaito.sh/enablelb: \"yes\"\n", 1)})
	is.Equal(len(s.Problems), 1)
	is.Equal(s.Problems[0].String(), `ws.yaml:6:5: default/ws: metadata.annotations["kaito.sh/enablelb"]: warning: Kaito only honours the exact value "True"; "yes" is treated as false`)
	is.True(!s.Problems.HasErrors()) // a warning never fails a workspace
	is.Equal(len(s.Problems.Errors()), 0)
}

// TestCheckConfigYAMLErrorLine: a syntax error inside inference_config.yaml is reported on a line
// of the block scalar (the ConfigMap key is on line 20, the block on lines 21 to 25), never on the
// key. yaml.v3 gives scanner errors their own line; parser errors ("did not find expected ...")
// come 0-based and at the start of the enclosing collection, so only the range is certain there.
func TestCheckConfigYAMLErrorLine(t *testing.T) {
	tests := []struct {
		name      string
		block     string
		from, to  int
		wantInMsg string
	}{
		{"scanner error on its line", "    vllm:\n      max-model-len: 4096\n      dtype: float16: x\n", 23, 23, "mapping values are not allowed"},
		{"tab in indentation", "    vllm:\n      max-model-len: 4096\n    \tdtype: x\n", 21, 23, "tab"},
		{"bad indentation after a comment and a blank line", "    # engine arguments\n\n    vllm:\n      max-model-len: 4096\n     gpu-memory-utilization: 0.9\n", 21, 25, "did not find expected key"},
		{"unclosed flow list", "    vllm:\n      max-model-len: 4096\n      stop: [a, b\n      dtype: x\n", 21, 24, "did not find expected ',' or ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			doc := strings.Replace(qwenWithConfig, "    vllm:\n      max-model-len: 4096\n      gpu-memory-utilization: 0.9\n", tt.block, 1)
			s := checkYAML(t, map[string]string{"ws.yaml": doc})
			is.Equal(len(s.Problems), 1)
			p := s.Problems[0]
			t.Log(p)
			is.Equal(p.Field, `data["inference_config.yaml"]`)
			is.True(p.Line >= tt.from && p.Line <= tt.to) // the line is inside the block scalar
			is.True(strings.Contains(p.Message, tt.wantInMsg))
			is.True(!strings.Contains(p.Message, "line ")) // the inner line number is not repeated in the message
			is.Equal(len(s.Valid()), 0)                    // the workspace using the broken config waits
		})
	}
}

// TestCheckTuningConfig: training_config.yaml as Kaito v0.12.0 reads it (tuning_config_validation.go):
// known sections, quantization that matches the method, output_dir under /mnt. The ConfigMap's key
// is on line 29 of tuningWithConfig, its block from line 30 ("training_config:") on.
func TestCheckTuningConfig(t *testing.T) {
	const block = "    training_config:\n      LoraConfig:\n        r: 8\n        lora_alpha: 8\n"
	config := func(method, sections string) string {
		doc := strings.Replace(tuningWithConfig, block, "    training_config:\n"+sections, 1)
		return strings.Replace(doc, "  method: lora\n", "  method: "+method+"\n", 1)
	}
	const ws = "default/tune"
	tests := []struct {
		name           string
		method, config string
		want           []problemWant
	}{
		{"lora with the sections Kaito knows", "lora",
			"      ModelConfig: {torch_dtype: bfloat16}\n      QuantizationConfig: {load_in_4bit: false, load_in_8bit: null}\n      LoraConfig: {r: 8}\n      TrainingArguments: {output_dir: results}\n      DatasetConfig: {}\n      DataCollator: {mlm: true}\n", nil},
		{"qlora in 4 bits", "qlora", "      QuantizationConfig:\n        load_in_4bit: true\n        bnb_4bit_quant_type: nf4\n", nil},
		// yaml.v2, as Kaito, reads yes as true.
		{"qlora in 8 bits written the YAML 1.1 way", "qlora", "      QuantizationConfig:\n        load_in_8bit: yes\n", nil},
		{"unknown section", "lora", "      LoraConfig: {r: 8}\n      LoRAConfig: {lora_alpha: 8}\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 32, ws: ws, msg: `Kaito does not know the section "LoRAConfig" (did you mean "LoraConfig"?): use ModelConfig, QuantizationConfig, LoraConfig, TrainingArguments, DatasetConfig, DataCollator`}}},
		{"lora quantized", "lora", "      QuantizationConfig:\n        load_in_4bit: true\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 31, ws: ws, msg: "method lora loads the model unquantized: set load_in_4bit and load_in_8bit to false, or use method qlora"}}},
		{"qlora without quantization", "qlora", "      LoraConfig: {r: 8}\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 30, ws: ws, msg: "method qlora needs a QuantizationConfig section with load_in_4bit or load_in_8bit set to true"}}},
		{"qlora with quantization off", "qlora", "      QuantizationConfig:\n        load_in_4bit: false\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 31, ws: ws, msg: "method qlora needs load_in_4bit or load_in_8bit set to true"}}},
		{"both 4 and 8 bits", "qlora", "      QuantizationConfig:\n        load_in_4bit: true\n        load_in_8bit: true\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 31, ws: ws, msg: "load_in_4bit and load_in_8bit cannot both be true"}}},
		{"quantization flag as a string", "qlora", "      QuantizationConfig:\n        load_in_4bit: \"true\"\n",
			[]problemWant{
				{sev: Error, field: `data["training_config.yaml"]`, line: 31, ws: ws, msg: "method qlora needs load_in_4bit or load_in_8bit set to true"},
				{sev: Error, field: `data["training_config.yaml"]`, line: 32, ws: ws, msg: `load_in_4bit must be true, false or null, not "true"`},
			}},
		{"quantization section not a map", "lora", "      QuantizationConfig: [load_in_4bit]\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 31, ws: ws, msg: "QuantizationConfig must be a map of settings"}}},
		{"output_dir outside /mnt", "lora", "      TrainingArguments:\n        output_dir: ../etc\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 32, ws: ws, msg: `output_dir "../etc" is not a directory under /mnt: write one such as /mnt/results`}}},
		{"output_dir /mnt itself", "lora", "      TrainingArguments:\n        output_dir: \"\"\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 32, ws: ws, msg: `output_dir "" is not a directory under /mnt`}}},
		{"output_dir not a string", "lora", "      TrainingArguments:\n        output_dir: 5\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 32, ws: ws, msg: "output_dir must be a string"}}},
		{"output_dir null", "lora", "      TrainingArguments:\n        output_dir:\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 32, ws: ws, msg: "output_dir must be a string"}}},
		{"TrainingArguments not a map", "lora", "      TrainingArguments: fast\n",
			[]problemWant{{sev: Error, field: `data["training_config.yaml"]`, line: 31, ws: ws, msg: "TrainingArguments must be a map of settings"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := checkYAML(t, map[string]string{"ws.yaml": config(tt.method, tt.config)})
			assertProblems(t, s.Problems, tt.want)
			is.Equal(len(s.Valid()) == 1, !s.Problems.HasErrors()) // an error keeps the workspace back
		})
	}
}
