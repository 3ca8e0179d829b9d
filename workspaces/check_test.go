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
		{
			name:  "inference_config.yaml without a vllm map",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    max-model-len: 4096\n")},
			want:  []problemWant{{sev: Error, field: `data["inference_config.yaml"]`, line: 20, ws: cm, msg: `inference_config.yaml needs a "vllm:" map of settings`}},
		},
		{
			name:  "inference_config.yaml with vllm not a map",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    vllm: fast\n")},
			want:  []problemWant{{sev: Error, field: `data["inference_config.yaml"]`, line: 20, ws: cm, msg: `needs a "vllm:" map`}},
		},
		{
			name:  "inference_config.yaml that is a list, not a mapping",
			files: map[string]string{"ws.yaml": withData("  inference_config.yaml: |\n    - max-model-len: 4096\n")},
			want:  []problemWant{{sev: Error, field: `data["inference_config.yaml"]`, line: 20, ws: cm, msg: `needs a "vllm:" map`}},
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
		{
			name:  "max-model-len from the config sizes the node",
			files: map[string]string{"ws.yaml": strings.Replace(withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: 32768\n"), "qwen2.5-coder-7b-instruct", "gemma-3-27b-instruct", 1)},
			want: []problemWant{{sev: Error, field: "resource.instanceType", line: 6, ws: "default/qwen",
				msg: "Kaito's estimator gives google/gemma-3-27b-it 2 GPUs of 80Gi (51.1Gi of weights at max-model-len 32768)"}},
		},
		{
			name:  "max-model-len written as a string sizes the node too",
			files: map[string]string{"ws.yaml": strings.Replace(withData("  inference_config.yaml: |\n    vllm:\n      max-model-len: \"32768\"\n"), "qwen2.5-coder-7b-instruct", "gemma-3-27b-instruct", 1)},
			want:  []problemWant{{sev: Error, field: "resource.instanceType", line: 6, msg: "at max-model-len 32768"}},
		},
		{
			name:  "the default max-model-len fits where a long one does not",
			files: map[string]string{"ws.yaml": strings.Replace(qwenWithConfig, "qwen2.5-coder-7b-instruct", "gemma-3-27b-instruct", 1)},
			valid: []string{"default/qwen"},
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
				{sev: Error, path: "a.yaml", field: "metadata.name", line: 1, ws: "default/ws", msg: "Workspace default/ws is declared twice: here and at b.yaml:1:1"},
				{sev: Error, path: "b.yaml", field: "metadata.name", line: 1, ws: "default/ws", msg: "Workspace default/ws is declared twice: here and at a.yaml:1:1"},
			},
		},
		{
			name:  "same workspace twice in one file",
			files: map[string]string{"ws.yaml": baseInference + "---\n" + baseAdapters},
			want: []problemWant{
				{sev: Error, field: "metadata.name", line: 1, msg: "declared twice: here and at ws.yaml:14:1"},
				{sev: Error, field: "metadata.name", line: 14, msg: "declared twice: here and at ws.yaml:1:1"},
			},
		},
		{
			name:  "no namespace and the default namespace are the same",
			files: map[string]string{"a.yaml": baseInference, "b.yaml": other(baseTemplate, "default")},
			want: []problemWant{
				{sev: Error, path: "a.yaml", field: "metadata.name", line: 1, ws: "default/ws", msg: "declared twice"},
				{sev: Error, path: "b.yaml", field: "metadata.name", line: 1, ws: "default/ws", msg: "declared twice"},
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
				{sev: Error, path: "a.yaml", field: "metadata.name", line: 15, ws: "ConfigMap/default/qwen-params", msg: "ConfigMap default/qwen-params is declared twice: here and at b.yaml:1:1"},
				{sev: Error, path: "b.yaml", field: "metadata.name", line: 1, ws: "ConfigMap/default/qwen-params", msg: "ConfigMap default/qwen-params is declared twice: here and at a.yaml:15:1"},
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
