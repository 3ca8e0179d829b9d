package workspaces

import (
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
)

// The valid baselines, one per shape. Every failing case below is one of these with one thing
// changed, so that a case fails for the rule it names and for nothing else.
const (
	baseInference = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
`
	baseTemplate = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: custom
inference:
  template:
    spec:
      containers:
        - name: server
          image: myregistry.azurecr.io/server:1.0
          env:
            - name: MODE
              value: fast
`
	baseAdapters = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
  adapters:
    - source:
        name: dolly
        image: myregistry.azurecr.io/adapter-phi3:0.0.1
    - source:
        name: support
        volumeSource:
          persistentVolumeClaim:
            claimName: adapters
`
	baseTuningURLs = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: tuning
tuning:
  preset:
    name: phi-3-mini-128k-instruct
  method: qlora
  input:
    urls:
      - https://huggingface.co/datasets/philschmid/dolly-15k-oai-style/resolve/main/train.parquet
  output:
    image: myregistry.azurecr.io/adapters/phi-3-dolly:0.0.1
    imagePushSecret: acr-push
`
	baseTuningVolumes = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: tuning
tuning:
  preset:
    name: phi-3-mini-4k-instruct
  method: lora
  input:
    name: tickets
    volumeSource:
      persistentVolumeClaim:
        claimName: tuning-input
  output:
    volumeSource:
      persistentVolumeClaim:
        claimName: tuning-output
`
	baseBYO = `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: ws
  namespace: team-a
resource:
  preferredNodes:
    - gpu-node-1
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3.5-mini-instruct
`
	basePartition = `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: ws
resource:
  labelSelector:
    matchLabels:
      apps: phi
  partition:
    mode: mig
    profile: 1g.10gb
inference:
  preset:
    name: phi-3-mini-4k-instruct
`
)

// withStrength turns the adapters baseline into a transformers workspace (the annotation takes lines
// 5 and 6) whose first adapter has a strength (line 19): vLLM takes no strength.
func withStrength(doc, strength string) string {
	doc = strings.Replace(doc, "  name: ws\n", "  name: ws\n  annotations:\n    kaito.sh/runtime: transformers\n", 1)
	const image = "        image: myregistry.azurecr.io/adapter-phi3:0.0.1\n"
	return strings.Replace(doc, image, image+"      strength: \""+strength+"\"\n", 1)
}

// TestValidBaselines: each shape of workspace, written correctly, has no problem at all.
func TestValidBaselines(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"inference preset", baseInference},
		{"template", baseTemplate},
		{"adapters", baseAdapters},
		{"tuning urls to image", baseTuningURLs},
		{"tuning volume to volume", baseTuningVolumes},
		{"v1beta1 bring-your-own nodes without instanceType", baseBYO},
		{"v1beta1 partition", basePartition},
		{"v1alpha1 default instanceType", strings.Replace(baseInference, "  instanceType: Standard_NC24ads_A100_v4\n", "", 1)},
		{"instanceType alias in other case", strings.Replace(baseInference, "Standard_NC24ads_A100_v4", "standard_nd96asr_a100_v4", 1)},
		{"gated preset with modelAccessSecret", `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: llama
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: llama
inference:
  preset:
    name: llama-3.1-8b-instruct
    presetOptions:
      modelAccessSecret: hf-token
`},
		{"Hugging Face id Kaito's catalog does not list", `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: falcon
inference:
  preset:
    name: tiiuae/falcon-7b
`},
		{"Hugging Face id of a catalog model, in another case", `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: MICROSOFT/PHI-4-MINI-INSTRUCT
`},
		{"multi-node model with the estimated node count", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  count: 3
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: llama
inference:
  preset:
    name: llama-3.3-70b-instruct
    presetOptions:
      modelAccessSecret: hf-token
`},
		{"annotations with valid values", `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: ws
  labels:
    team: ml
  annotations:
    kaito.sh/runtime: transformers
    kaito.sh/enablelb: "True"
    kaito.sh/performance-mode: throughput
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
`},
		{"runtime the preset supports", `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: ws
  annotations:
    kaito.sh/runtime: vllm
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: gemma
inference:
  preset:
    name: gemma-3-4b-instruct
`},
		{"enablelb False", strings.Replace(baseInference, "  name: ws\n", "  name: ws\n  annotations:\n    kaito.sh/enablelb: \"False\"\n", 1)},
		{"single-value In expression", strings.Replace(baseInference, "    matchLabels:\n      apps: phi\n",
			"    matchExpressions:\n      - {key: apps, operator: In, values: [phi]}\n", 1)},
		{"adapter strengths at the bounds on transformers", withStrength(baseAdapters, "0") + "      strength: \"1\"\n"},
		{"adapters on vLLM without strength", baseAdapters},
		{"v1beta1 accelerator partition", strings.Replace(basePartition, "    mode: mig\n    profile: 1g.10gb\n", "    mode: accelerator\n    count: 2\n", 1)},
		{"MIG slice that holds the weights with room to spare", strings.Replace(basePartition, "1g.10gb", "7g.80gb", 1)},
		{"node-image-family and use-local-weights", strings.Replace(baseInference, "  name: ws\n", "  name: ws\n  annotations:\n    kaito.sh/node-image-family: \" AzureLinux \"\n    kaito.sh/use-local-weights: \"false\"\n", 1)},
		{"count equal to Kaito's estimate", strings.Replace(baseInference, "resource:\n", "resource:\n  count: 1\n", 1)},
		{"transformers model that fits one node", strings.Replace(strings.Replace(baseInference, "  name: ws\n", "  name: ws\n  annotations:\n    kaito.sh/runtime: transformers\n", 1), "phi-3-mini-4k-instruct", "phi-4", 1)},
		{"inference config and adapters pull secret", strings.Replace(baseAdapters, "        image: myregistry", "        imagePullSecrets: [acr-pull]\n        image: myregistry", 1)},
		{"tuning input image", strings.Replace(baseTuningURLs,
			"    urls:\n      - https://huggingface.co/datasets/philschmid/dolly-15k-oai-style/resolve/main/train.parquet\n",
			"    image: myregistry.azurecr.io/data/dolly:1\n    imagePullSecrets: [acr-pull]\n", 1)},
		{"tuning method lora", strings.Replace(baseTuningURLs, "method: qlora", "method: lora", 1)},
		{"tuning method in Kaito's accepted mixed case", strings.Replace(baseTuningURLs, "method: qlora", "method: QLoRA", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checkYAML(t, map[string]string{"ws.yaml": tt.doc})
			assertProblems(t, s.Problems, nil)
			is := is.New(t)
			is.Equal(len(s.Valid()), 1) // the workspace may be applied
		})
	}
}

// validationCase is one workspace file that breaks exactly one rule.
type validationCase struct {
	name string
	doc  string
	want []problemWant
}

func runValidationCases(t *testing.T, tests []validationCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checkYAML(t, map[string]string{"ws.yaml": tt.doc})
			assertProblems(t, s.Problems, tt.want)
			if s.Problems.HasErrors() {
				is := is.New(t)
				is.Equal(len(s.Valid()), 0) // a workspace with an error is never applied
			}
		})
	}
}

func TestValidateMetadata(t *testing.T) {
	runValidationCases(t, []validationCase{
		{"name is not a DNS label", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: Phi_3
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
`, []problemWant{{sev: Error, field: "metadata.name", line: 4, msg: `"Phi_3" is not a valid name`, ws: "default/Phi_3"}}},
		{"name longer than 63", strings.Replace(baseInference, "name: ws", "name: "+strings.Repeat("a", 64), 1),
			[]problemWant{{sev: Error, field: "metadata.name", line: 4, msg: "must be no more than 63 characters"}}},
		{"name with a dot (a subdomain, not a label)", strings.Replace(baseInference, "name: ws", "name: phi.3", 1),
			[]problemWant{{sev: Error, field: "metadata.name", line: 4, msg: "is not a valid name"}}},
		{"name missing", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  labels:
    team: ml
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
`, []problemWant{{sev: Error, field: "metadata.name", line: 3, msg: "a name is required"}}},
		{"name is a placeholder", strings.Replace(baseInference, "name: ws", "name: <workspace-name>", 1),
			[]problemWant{{sev: Error, field: "metadata.name", line: 4, msg: `"<workspace-name>" is a placeholder`}}},
		{"namespace is not a DNS label", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
  namespace: Team_A
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
`, []problemWant{{sev: Error, field: "metadata.namespace", line: 5, msg: `"Team_A" is not a valid name`, ws: "Team_A/ws"}}},
		{"label key invalid", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
  labels:
    "bad key!": ml
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
`, []problemWant{{sev: Error, field: `metadata.labels["bad key!"]`, line: 6, msg: `label key "bad key!"`}}},
		{"label value invalid", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
  labels:
    team: machine learning
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
`, []problemWant{{sev: Error, field: "metadata.labels.team", line: 6, msg: `label value "machine learning"`}}},
		{"annotation key invalid", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
  annotations:
    "bad key!": "x"
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
`, []problemWant{{sev: Error, field: `metadata.annotations["bad key!"]`, line: 6, msg: `annotation key "bad key!"`}}},
	})
}

func TestValidateAnnotations(t *testing.T) {
	// annotated puts annotations into the inference baseline; they start on line 6.
	annotated := func(doc, annotations string) string {
		return strings.Replace(doc, "  name: ws\n", "  name: ws\n  annotations:\n"+annotations, 1)
	}
	runValidationCases(t, []validationCase{
		// Kaito runs vLLM for any value but exactly "transformers" (GetWorkspaceRuntimeName).
		{"runtime unknown", annotated(baseInference, "    kaito.sh/runtime: tensorrt\n"),
			[]problemWant{{sev: Warning, field: `metadata.annotations["kaito.sh/runtime"]`, line: 6, msg: `runtime "tensorrt" is not one of vllm, transformers: Kaito runs vLLM for any value but exactly "transformers"`}}},
		{"runtime in another case is vLLM", strings.Replace(withStrength(baseAdapters, "0.5"), "runtime: transformers", "runtime: Transformers", 1),
			[]problemWant{
				{sev: Warning, field: `metadata.annotations["kaito.sh/runtime"]`, line: 6, msg: `runtime "Transformers" is not one of vllm, transformers`},
				{sev: Error, field: "inference.adapters[0].strength", line: 19, msg: "vLLM does not support adapter strength: remove strength or set kaito.sh/runtime: transformers"},
			}},
		{"runtime the preset does not support", `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: ws
  annotations:
    kaito.sh/runtime: transformers
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-4-mini-instruct
`, []problemWant{{sev: Error, field: `metadata.annotations["kaito.sh/runtime"]`, line: 6, msg: `preset "phi-4-mini-instruct" does not run on transformers in Kaito v0.12.0 (it runs on vllm only): remove kaito.sh/runtime: transformers`}}},
		{"node-image-family unknown", annotated(baseInference, "    kaito.sh/node-image-family: windows\n"),
			[]problemWant{{sev: Error, field: `metadata.annotations["kaito.sh/node-image-family"]`, line: 6, msg: `unsupported node image family "windows": use ubuntu or azurelinux`}}},
		{"use-local-weights not a boolean", annotated(baseInference, "    kaito.sh/use-local-weights: \"True\"\n"),
			[]problemWant{{sev: Error, field: `metadata.annotations["kaito.sh/use-local-weights"]`, line: 6, msg: `"True" must be "true" or "false"`}}},
		{"node-class-name cannot be checked offline", annotated(baseInference, "    kaito.sh/node-class-name: gpu-class\n"),
			[]problemWant{{sev: Warning, field: `metadata.annotations["kaito.sh/node-class-name"]`, line: 6, msg: "--karpenter-node-classes"}}},
		{"enablelb not exactly True", annotated(baseInference, "    kaito.sh/enablelb: \"true\"\n"),
			[]problemWant{{sev: Warning, field: `metadata.annotations["kaito.sh/enablelb"]`, line: 6, msg: `only honours the exact value "True"; "true" is treated as false`}}},
		{"performance-mode unknown", annotated(baseInference, "    kaito.sh/performance-mode: fast\n"),
			[]problemWant{{sev: Error, field: `metadata.annotations["kaito.sh/performance-mode"]`, line: 6, msg: `"fast" is not one of balanced, interactivity, throughput`}}},
		{"bypass-resource-checks warns even when the model fits", annotated(baseInference, "    kaito.sh/bypass-resource-checks: \"True\"\n"),
			[]problemWant{{sev: Warning, field: `metadata.annotations["kaito.sh/bypass-resource-checks"]`, line: 6, msg: "GPU memory checks are bypassed"}}},
	})
}

func TestValidateKind(t *testing.T) {
	runValidationCases(t, []validationCase{
		{"both inference and tuning", baseInference + `tuning:
  preset:
    name: phi-3-mini-128k-instruct
  method: lora
  input:
    urls: ["https://huggingface.co/d.parquet"]
  output:
    volumeSource:
      emptyDir: {}
`, []problemWant{{sev: Error, field: "tuning", line: 13, msg: "either inference or tuning, not both"}}},
		{"neither inference nor tuning", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
`, []problemWant{{sev: Error, field: "", line: 1, msg: "needs inference (to serve a model) or tuning"}}},
		{"both preset and template", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference:
  preset:
    name: phi-3-mini-4k-instruct
  template:
    spec:
      containers:
        - name: server
          image: myregistry.azurecr.io/server:1.0
`, []problemWant{{sev: Error, field: "inference", line: 10, msg: "either preset or template, not both"}}},
		{"neither preset nor template", `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: phi
inference: {}
`, []problemWant{{sev: Error, field: "inference", line: 10, msg: "a preset (a Kaito model) or a template (your own pod) is required"}}},
	})
}

func TestValidatePreset(t *testing.T) {
	// preset replaces the preset block of the inference baseline (from line 11 on).
	preset := func(block string) string {
		return strings.Replace(baseInference, "  preset:\n    name: phi-3-mini-4k-instruct\n", block, 1)
	}
	runValidationCases(t, []validationCase{
		{"unknown preset with a suggestion", preset("  preset:\n    name: phi-3-mini-4k-instuct\n"),
			[]problemWant{{sev: Error, field: "inference.preset.name", line: 12, msg: `unknown preset "phi-3-mini-4k-instuct" (did you mean "phi-3-mini-4k-instruct"?)`}}},
		{"unknown preset without a close name", preset("  preset:\n    name: gpt-5\n"),
			[]problemWant{{sev: Error, field: "inference.preset.name", line: 12, msg: `unknown preset "gpt-5"; ` + "`kaito-sync presets`"}}},
		// Kaito lower-cases preset names before it looks them up.
		{"preset name in another case", preset("  preset:\n    name: Phi-3-Mini-4k-Instruct\n"), nil},
		{"Hugging Face id near a catalog id", preset("  preset:\n    name: microsoft/Phi-3-mini-4k-instrct\n"),
			[]problemWant{{sev: Warning, field: "inference.preset.name", line: 12, msg: `"microsoft/Phi-3-mini-4k-instrct" is not in Kaito v0.12.0's catalog, so Kaito will look it up on huggingface.co (did you mean "microsoft/Phi-3-mini-4k-instruct"?)`}}},
		{"not a Hugging Face id", preset("  preset:\n    name: microsoft/phi/4\n"),
			[]problemWant{{sev: Error, field: "inference.preset.name", line: 12, msg: `"microsoft/phi/4" is not a Hugging Face id`}}},
		{"preset without a name", preset("  preset:\n    accessMode: public\n"),
			[]problemWant{{sev: Error, field: "inference.preset.name", line: 11, msg: "a preset name is required"}}},
		{"preset name is a placeholder", preset("  preset:\n    name: <model-name>\n"),
			[]problemWant{{sev: Error, field: "inference.preset.name", line: 12, msg: `"<model-name>" is a placeholder`}}},
		{"removed preset", preset("  preset:\n    name: phi-2\n"),
			[]problemWant{{sev: Error, field: "inference.preset.name", line: 12, msg: `preset "phi-2" was removed in Kaito v0.8.0; use the Hugging Face id "microsoft/phi-2" instead`}}},
		{"removed llama 2 preset", preset("  preset:\n    name: llama-2-7b\n    accessMode: private\n    presetOptions:\n      image: myregistry.azurecr.io/llama-2-7b:0.0.1\n"),
			[]problemWant{{sev: Error, field: "inference.preset.name", line: 12, msg: `preset "llama-2-7b" was removed in Kaito v0.4.6; use the Hugging Face id "meta-llama/Llama-2-7b-hf" instead`}}},
		// Kaito v0.12.0 admits a catalogued gated model without a secret; the download then fails.
		{"gated preset without modelAccessSecret", preset("  preset:\n    name: llama-3.1-8b-instruct\n"),
			[]problemWant{{sev: Warning, field: "inference.preset", line: 11, msg: `preset "llama-3.1-8b-instruct" is a gated model on Hugging Face: without presetOptions.modelAccessSecret (a Secret with key HF_TOKEN) its download fails when the pod starts`}}},
		{"modelAccessSecret is not a valid name", preset("  preset:\n    name: llama-3.1-8b-instruct\n    presetOptions:\n      modelAccessSecret: HF_TOKEN\n"),
			[]problemWant{{sev: Error, field: "inference.preset.presetOptions.modelAccessSecret", line: 14, msg: "not a valid Secret name (the value is not shown: it may be a credential): a lowercase RFC 1123"}}},
		{"modelAccessSecret is a placeholder", preset("  preset:\n    name: llama-3.1-8b-instruct\n    presetOptions:\n      modelAccessSecret: <your-secret>\n"),
			[]problemWant{{sev: Error, field: "inference.preset.presetOptions.modelAccessSecret", line: 14, msg: `"<your-secret>" is a placeholder`}}},
		// accessMode and presetOptions.image are deprecated and read by nothing in Kaito v0.12.0.
		{"accessMode private", preset("  preset:\n    name: phi-3-mini-4k-instruct\n    accessMode: private\n"),
			[]problemWant{{sev: Warning, field: "inference.preset.accessMode", line: 13, msg: "accessMode is deprecated and ignored by Kaito v0.12.0"}}},
		{"accessMode unknown", preset("  preset:\n    name: phi-3-mini-4k-instruct\n    accessMode: internal\n"),
			[]problemWant{{sev: Error, field: "inference.preset.accessMode", line: 13, msg: `"internal" is not one of public, private`}}},
		{"presetOptions.image, even an invalid one, is ignored", preset("  preset:\n    name: phi-3-mini-4k-instruct\n    accessMode: private\n    presetOptions:\n      image: MyRegistry.azurecr.io/Llama:1\n"),
			[]problemWant{
				{sev: Warning, field: "inference.preset.accessMode", line: 13, msg: "accessMode is deprecated and ignored"},
				{sev: Warning, field: "inference.preset.presetOptions.image", line: 15, msg: "presetOptions.image is ignored by Kaito v0.12.0"},
			}},
		{"modelAccessSecret placeholder that is a valid name", preset("  preset:\n    name: llama-3.1-8b-instruct\n    presetOptions:\n      modelAccessSecret: changeme\n"),
			[]problemWant{{sev: Warning, field: "inference.preset.presetOptions.modelAccessSecret", line: 14, msg: `"changeme" is a placeholder`}}},
		{"imagePullSecrets name invalid", preset("  preset:\n    name: phi-3-mini-4k-instruct\n    presetOptions:\n      imagePullSecrets:\n        - acr-pull\n        - Acr_Pull\n"),
			[]problemWant{{sev: Error, field: "inference.preset.presetOptions.imagePullSecrets[1]", line: 16, msg: "not a valid Secret name (the value is not shown"}}},
		{"inference.config is not a valid name", strings.Replace(baseInference, "  preset:\n", "  config: Inference_Params\n  preset:\n", 1),
			[]problemWant{
				{sev: Error, field: "inference.config", line: 11, msg: `"Inference_Params" is not a valid name`},
				{sev: Warning, field: "inference.config", line: 11, msg: `ConfigMap "Inference_Params" is not in the repository`},
			}},
	})
}

func TestValidateResource(t *testing.T) {
	// resource replaces the resource block (lines 5 to 9) of a baseline.
	resource := func(doc, block string) string {
		old := "resource:\n  instanceType: Standard_NC24ads_A100_v4\n  labelSelector:\n    matchLabels:\n      apps: phi\n"
		if !strings.Contains(doc, old) {
			panic("baseline changed")
		}
		return strings.Replace(doc, old, block, 1)
	}
	matchLabels := func(labels string) string {
		return resource(baseInference, "resource:\n  instanceType: Standard_NC24ads_A100_v4\n  labelSelector:\n    matchLabels:\n"+labels)
	}

	runValidationCases(t, []validationCase{
		{"labelSelector missing", resource(baseInference, "resource:\n  instanceType: Standard_NC24ads_A100_v4\n"),
			[]problemWant{{sev: Error, field: "resource.labelSelector", line: 5, msg: "a labelSelector with matchLabels is required"}}},
		{"labelSelector empty", resource(baseInference, "resource:\n  instanceType: Standard_NC24ads_A100_v4\n  labelSelector: {}\n"),
			[]problemWant{{sev: Error, field: "resource.labelSelector", line: 7, msg: "a labelSelector with matchLabels is required"}}},
		{"matchLabels key invalid", matchLabels("      \"apps!\": phi\n"),
			[]problemWant{{sev: Error, field: `resource.labelSelector.matchLabels["apps!"]`, line: 9, msg: `label key "apps!"`}}},
		{"matchLabels value invalid", matchLabels("      apps: phi 3\n"),
			[]problemWant{{sev: Error, field: "resource.labelSelector.matchLabels.apps", line: 9, msg: `label value "phi 3"`}}},
		{"matchExpressions operator invalid", resource(baseInference, "resource:\n  instanceType: Standard_NC24ads_A100_v4\n  labelSelector:\n    matchExpressions:\n      - {key: apps, operator: Like, values: [phi]}\n"),
			[]problemWant{{sev: Error, field: "resource.labelSelector.matchExpressions", line: 8, msg: `"Like" is not a valid label selector operator`}}},
		{"matchExpressions Kaito cannot turn into node labels", resource(baseInference, "resource:\n  instanceType: Standard_NC24ads_A100_v4\n  labelSelector:\n    matchExpressions:\n      - {key: apps, operator: Exists}\n"),
			[]problemWant{{sev: Error, field: "resource.labelSelector.matchExpressions", line: 8, msg: "Kaito accepts only matchLabels and In with a single value"}}},
		// Kaito drops the labels it puts on its own nodes from a selector (SanitizedMatchLabels).
		{"matchLabels of reserved labels only", matchLabels("      kaito.sh/workspace: ws\n      karpenter.kaito.sh/workspace-name: ws\n"),
			[]problemWant{{sev: Error, field: "resource.labelSelector.matchLabels", line: 8, msg: `matchLabels must hold at least one label of your own: Kaito reserves "kaito.sh/workspace", "karpenter.kaito.sh/workspace-name" for the nodes it provisions`}}},
		{"a reserved label beside one of your own", matchLabels("      apps: phi\n      kaito.sh/workspacenamespace: default\n"),
			[]problemWant{{sev: Warning, field: `resource.labelSelector.matchLabels["kaito.sh/workspacenamespace"]`, line: 10, msg: `Kaito reserves "kaito.sh/workspacenamespace" for the nodes it provisions and ignores it in a selector: remove it`}}},
		// The CRD has no minimum; a count below 1 is no node.
		{"count below 1", resource(baseInference, "resource:\n  count: 0\n  instanceType: Standard_NC24ads_A100_v4\n  labelSelector:\n    matchLabels:\n      apps: phi\n"),
			[]problemWant{{sev: Warning, field: "resource.count", line: 6, msg: "count 0 is below 1: Kaito's CRD lets it through, but it means no node; set count to 1 or more"}}},
		{"preferredNodes name invalid", resource(baseInference, "resource:\n  instanceType: Standard_NC24ads_A100_v4\n  preferredNodes:\n    - aks-gpu-1\n    - AKS_GPU_2\n  labelSelector:\n    matchLabels:\n      apps: phi\n"),
			[]problemWant{{sev: Error, field: "resource.preferredNodes[1]", line: 9, msg: `"AKS_GPU_2" is not a valid name`}}},
		{"unknown GPU instanceType", strings.Replace(baseInference, "Standard_NC24ads_A100_v4", "Standard_NC24ads_A100_v9", 1),
			[]problemWant{{sev: Error, field: "resource.instanceType", line: 6, msg: `unknown GPU instance type "Standard_NC24ads_A100_v9" (not in Kaito v0.12.0's SKU table: its node estimator cannot size it, nor can kaito-sync); did you mean "Standard_NC24ads_A100_v4"?; ` + "`kaito-sync skus`"}}},
		{"non-GPU instanceType", strings.Replace(baseInference, "Standard_NC24ads_A100_v4", "Standard_D4s_v3", 1),
			[]problemWant{{sev: Error, field: "resource.instanceType", line: 6, msg: `unknown GPU instance type "Standard_D4s_v3" (a Standard_D size has no GPU)`}}},
		{"not an Azure size", strings.Replace(baseInference, "Standard_NC24ads_A100_v4", "p4d.24xlarge", 1),
			[]problemWant{{sev: Error, field: "resource.instanceType", line: 6, msg: `unknown GPU instance type "p4d.24xlarge" (not an Azure GPU VM size: those start with Standard_N)`}}},
		{"placeholder instanceType", strings.Replace(baseInference, "Standard_NC24ads_A100_v4", "<your-vm-sku>", 1),
			[]problemWant{{sev: Error, field: "resource.instanceType", line: 6, msg: `"<your-vm-sku>" is a placeholder copied from the docs`}}},
		// Kaito judges no resource against a preset it does not know.
		{"unknown preset: no SKU verdict", strings.Replace(strings.Replace(baseInference, "Standard_NC24ads_A100_v4", "Standard_NC24ads_A100_v9", 1), "phi-3-mini-4k-instruct", "phi-9", 1),
			[]problemWant{{sev: Error, field: "inference.preset.name", line: 12, msg: `unknown preset "phi-9"`}}},
	})
}

// TestValidateSizing: with vLLM, Kaito's node estimator replaces resource.count; with transformers,
// the weights must fit one node and count nodes; on a MIG slice, the slice.
func TestValidateSizing(t *testing.T) {
	annotate := func(doc, annotations string) string {
		return strings.Replace(doc, "  name: ws\n", "  name: ws\n  annotations:\n"+annotations, 1)
	}
	const bypass = "    kaito.sh/bypass-resource-checks: \"True\"\n"
	const transformers = "    kaito.sh/runtime: transformers\n"
	model := func(doc, name string) string { return strings.Replace(doc, "phi-3-mini-4k-instruct", name, 1) }
	sku := func(doc, name string) string { return strings.Replace(doc, "Standard_NC24ads_A100_v4", name, 1) }
	count := func(doc string, n int) string {
		return strings.Replace(doc, "resource:\n", fmt.Sprintf("resource:\n  count: %d\n", n), 1)
	}
	llama70b := strings.Replace(baseInference, "  preset:\n    name: phi-3-mini-4k-instruct\n",
		"  preset:\n    name: llama-3.3-70b-instruct\n    presetOptions:\n      modelAccessSecret: hf-token\n", 1)
	bypassWarning := problemWant{sev: Warning, field: `metadata.annotations["kaito.sh/bypass-resource-checks"]`, line: 6, msg: "GPU memory checks are bypassed"}

	runValidationCases(t, []validationCase{
		// Kaito v0.12.0 sizes llama-3.3-70b-instruct to 3 nodes of one A100 80Gi, whatever count says.
		{"vLLM: count below Kaito's estimate", count(llama70b, 2),
			[]problemWant{{sev: Warning, field: "resource.count", line: 6, msg: "Kaito runs 3 × Standard_NC24ads_A100_v4 (count 2 is replaced by its estimate: meta-llama/Llama-3.3-70B-Instruct needs 3 GPUs of 80Gi for 131.42Gi of weights at max-model-len 2048); set count to 3 to say so"}}},
		{"vLLM: count above Kaito's estimate", count(baseInference, 2),
			[]problemWant{{sev: Warning, field: "resource.count", line: 6, msg: "Kaito runs 1 × Standard_NC24ads_A100_v4 (count 2 is replaced by its estimate"}}},
		// 26Gi × 1.02 in (24 × 0.84 − 2.3 − 0.19) ÷ 1.05 = 16.8Gi per GPU → 2 GPUs of 1 per node.
		{"vLLM: no count, the estimate is more than one node", sku(model(baseInference, "phi-3-medium-4k-instruct"), "Standard_NV36ads_A10_v5"),
			[]problemWant{{sev: Warning, field: "resource.instanceType", line: 6, msg: "Kaito runs 2 × Standard_NV36ads_A10_v5 (the default count of 1 is replaced by its estimate: microsoft/Phi-3-medium-4k-instruct needs 2 GPUs of 24Gi for 26Gi of weights at max-model-len 2048)"}}},
		{"vLLM: v1alpha1 default instanceType is sized too", model(strings.Replace(baseInference, "  instanceType: Standard_NC24ads_A100_v4\n", "", 1), "qwen2.5-coder-32b-instruct"),
			[]problemWant{{sev: Warning, field: "resource.instanceType", line: 5, msg: "Kaito runs 2 × Standard_NC24ads_A100_v4 (the default count of 1 is replaced by its estimate: Qwen/Qwen2.5-Coder-32B-Instruct needs 2 GPUs of 80Gi for 61.03Gi of weights"}}},
		{"vLLM: count below 1 is left to its own warning", count(llama70b, 0),
			[]problemWant{{sev: Warning, field: "resource.count", line: 6, msg: "count 0 is below 1"}}},

		// Transformers: Kaito's rules #18 and #19 of validateCreateWithInference.
		{"transformers: weights over one node's GPU memory", annotate(sku(model(baseInference, "phi-4"), "Standard_NV36ads_A10_v5"), transformers),
			[]problemWant{{sev: Error, field: "resource.instanceType", line: 8, msg: "the transformers runtime cannot spread a model over nodes: microsoft/phi-4 has 27.31Gi of weights but one Standard_NV36ads_A10_v5 has 24Gi of GPU memory; pick a SKU with more; SKUs that fit: Standard_NC24ads_A100_v4, Standard_NC40ads_H100_v5, Standard_NCC40ads_H100_v5; or run it on vLLM, which spreads it over nodes: remove kaito.sh/runtime: transformers"}}},
		{"transformers: one node only, even bypassed", annotate(sku(model(baseInference, "phi-4"), "Standard_NV36ads_A10_v5"), transformers+bypass),
			[]problemWant{
				{sev: Warning, field: `metadata.annotations["kaito.sh/bypass-resource-checks"]`, line: 7, msg: "GPU memory checks are bypassed"},
				{sev: Error, field: "resource.instanceType", line: 9, msg: "the transformers runtime cannot spread a model over nodes"},
			}},
		{"transformers: count nodes must hold the weights", count(annotate(baseInference, transformers), 0),
			[]problemWant{
				{sev: Warning, field: "resource.count", line: 8, msg: "count 0 is below 1"},
				{sev: Error, field: "resource.count", line: 8, msg: "insufficient GPU memory: 0 × Standard_NC24ads_A100_v4 has 0Gi in all but microsoft/Phi-3-mini-4k-instruct needs at least 7.12Gi for its weights; set count to 1"},
			}},
		{"transformers: count check bypassed", count(annotate(baseInference, bypass+transformers), 0),
			[]problemWant{
				bypassWarning,
				{sev: Warning, field: "resource.count", line: 9, msg: "count 0 is below 1"},
				{sev: Warning, field: "resource.count", line: 9, msg: "insufficient GPU memory: 0 × Standard_NC24ads_A100_v4 has 0Gi in all but microsoft/Phi-3-mini-4k-instruct needs at least 7.12Gi for its weights; set count to 1 (check bypassed by kaito.sh/bypass-resource-checks)"},
			}},
		{"transformers: count is taken as written", count(annotate(baseInference, transformers), 2), nil},

		// GPUs below compute capability 8.0: Kaito v0.12.0 lists none; kaito-sync serves them on
		// transformers in float16.
		{"legacy SKU: served on transformers, with a warning", sku(baseInference, "Standard_NC6s_v3"),
			[]problemWant{{sev: Warning, field: "resource.instanceType", line: 6, msg: "Kaito v0.12.0 does not list Standard_NC6s_v3 (NVIDIA V100, compute capability 7.0, below the 8.0 its vLLM needs): kaito-sync serves it on the transformers runtime in float16"}}},
		{"legacy SKU: adapter strength is fine on transformers", sku(strings.Replace(withStrength(baseAdapters, "0.5"), "    kaito.sh/runtime: transformers\n", "    kaito.sh/enablelb: \"False\"\n", 1), "Standard_NC4as_T4_v3"),
			[]problemWant{{sev: Warning, field: "resource.instanceType", line: 8, msg: "Kaito v0.12.0 does not list Standard_NC4as_T4_v3 (NVIDIA T4, compute capability 7.5"}}},
		{"legacy SKU: explicit vLLM", annotate(sku(baseInference, "Standard_NC6s_v3"), "    kaito.sh/runtime: vllm\n"),
			[]problemWant{
				{sev: Error, field: `metadata.annotations["kaito.sh/runtime"]`, line: 6, msg: "Standard_NC6s_v3 (NVIDIA V100) cannot run vLLM: remove kaito.sh/runtime: vllm to serve it on transformers, or pick a SKU of compute capability 8.0 or more"},
				{sev: Warning, field: "resource.instanceType", line: 8, msg: "does not list Standard_NC6s_v3"},
			}},
		{"legacy SKU: a model without transformers parameters", sku(model(baseInference, "phi-4-mini-instruct"), "Standard_NC6s_v3"),
			[]problemWant{
				{sev: Warning, field: "resource.instanceType", line: 6, msg: "does not list Standard_NC6s_v3"},
				{sev: Error, field: "resource.instanceType", line: 6, msg: `preset "phi-4-mini-instruct" has no transformers runtime in Kaito v0.12.0, and Standard_NC6s_v3 (NVIDIA V100) cannot run vLLM: pick a SKU of compute capability 8.0 or more; SKUs that fit: Standard_NV36ads_A10_v5`},
			}},
		{"legacy SKU: weights over one node", sku(model(baseInference, "phi-3-medium-4k-instruct"), "Standard_NC6s_v3"),
			[]problemWant{
				{sev: Warning, field: "resource.instanceType", line: 6, msg: "does not list Standard_NC6s_v3"},
				{sev: Error, field: "resource.instanceType", line: 6, msg: "the transformers runtime cannot spread a model over nodes: microsoft/Phi-3-medium-4k-instruct has 26Gi of weights but one Standard_NC6s_v3 has 16Gi of GPU memory; pick a SKU with more; SKUs that fit: Standard_NC24ads_A100_v4, Standard_NC40ads_H100_v5, Standard_NCC40ads_H100_v5; vLLM, which spreads it over nodes, needs a GPU of compute capability 8.0 or more"},
			}},

		// MIG: the weights must fit one slice (validateMIGModelFit).
		{"MIG slice smaller than the weights", strings.Replace(model(basePartition, "phi-3-medium-4k-instruct"), "1g.10gb", "2g.20gb", 1),
			[]problemWant{{sev: Error, field: "resource.partition.profile", line: 11, msg: "microsoft/Phi-3-medium-4k-instruct needs at least 26Gi for its weights, more than the 20Gi of a 2g.20gb MIG slice; profiles that hold it: "}}},
		{"MIG fit bypassed", annotate(strings.Replace(model(basePartition, "phi-3-medium-4k-instruct"), "1g.10gb", "2g.20gb", 1), bypass),
			[]problemWant{bypassWarning, {sev: Warning, field: "resource.partition.profile", line: 13, msg: "(check bypassed by kaito.sh/bypass-resource-checks)"}}},
	})
}

func TestValidatePartition(t *testing.T) {
	runValidationCases(t, []validationCase{
		{"partition mode unknown", strings.Replace(basePartition, "mode: mig", "mode: slice", 1),
			[]problemWant{{sev: Error, field: "resource.partition.mode", line: 10, msg: `"slice" is not one of mig, accelerator`}}},
		{"MIG with a count", strings.Replace(basePartition, "profile: 1g.10gb\n", "profile: 1g.10gb\n    count: 2\n", 1),
			[]problemWant{{sev: Error, field: "resource.partition.count", line: 12, msg: "count is only valid for accelerator mode"}}},
		{"MIG without a profile", strings.Replace(basePartition, "    profile: 1g.10gb\n", "", 1),
			[]problemWant{{sev: Error, field: "resource.partition", line: 9, msg: "mig mode needs a profile, e.g. 1g.10gb (one of 1g.10gb, 1g.12gb,"}}},
		{"MIG profile Kaito does not know", strings.Replace(basePartition, "1g.10gb", "1g.11gb", 1),
			[]problemWant{{sev: Error, field: "resource.partition.profile", line: 11, msg: `unknown MIG profile "1g.11gb" (did you mean "1g.10gb"?): use one of`}}},
		{"accelerator with a profile", strings.Replace(basePartition, "mode: mig\n    profile: 1g.10gb\n", "mode: accelerator\n    profile: 1g.10gb\n    count: 1\n", 1),
			[]problemWant{{sev: Error, field: "resource.partition.profile", line: 11, msg: "profile is not valid for accelerator mode"}}},
		{"accelerator without a count", strings.Replace(basePartition, "mode: mig\n    profile: 1g.10gb\n", "mode: accelerator\n", 1),
			[]problemWant{{sev: Error, field: "resource.partition", line: 9, msg: "accelerator mode needs count"}}},
		{"accelerator count below 1", strings.Replace(basePartition, "mode: mig\n    profile: 1g.10gb\n", "mode: accelerator\n    count: 0\n", 1),
			[]problemWant{{sev: Error, field: "resource.partition.count", line: 11, msg: "must be at least 1, got 0"}}},
		{"partition with instanceType", strings.Replace(basePartition, "resource:\n", "resource:\n  instanceType: Standard_NC24ads_A100_v4\n", 1),
			[]problemWant{{sev: Error, field: "resource.instanceType", line: 6, msg: "partitioned GPUs are bring-your-own nodes: remove instanceType"}}},
		{"partition in v1alpha1", strings.Replace(basePartition, "kaito.sh/v1beta1", "kaito.sh/v1alpha1", 1),
			[]problemWant{{sev: Error, field: "resource.partition", line: 9, msg: "partition exists only in kaito.sh/v1beta1", ws: "default/ws"}}},
	})
}

func TestValidateTemplate(t *testing.T) {
	runValidationCases(t, []validationCase{
		{"template without containers", strings.Replace(baseTemplate,
			"      containers:\n        - name: server\n          image: myregistry.azurecr.io/server:1.0\n          env:\n            - name: MODE\n              value: fast\n",
			"      containers: []\n", 1),
			[]problemWant{{sev: Error, field: "inference.template.spec.containers", line: 13, msg: "a template needs at least one container"}}},
		{"container without name", strings.Replace(baseTemplate, "        - name: server\n          image:", "        - image:", 1),
			[]problemWant{{sev: Error, field: "inference.template.spec.containers[0].name", line: 14, msg: "a container name is required"}}},
		{"container without image", strings.Replace(baseTemplate, "          image: myregistry.azurecr.io/server:1.0\n", "", 1),
			[]problemWant{{sev: Error, field: "inference.template.spec.containers[0].image", line: 14, msg: "an image reference is required"}}},
		// Only the node pulling it judges an image: the workload is created and its pod never starts.
		{"container image invalid", strings.Replace(baseTemplate, "myregistry.azurecr.io/server:1.0", "myregistry.azurecr.io/Server:1.0", 1),
			[]problemWant{{sev: Warning, field: "inference.template.spec.containers[0].image", line: 15, msg: `"myregistry.azurecr.io/Server:1.0" is not a valid image reference`}}},
		// Kaito accepts a placeholder in a value it does not judge; it fails when the pod uses it.
		{"placeholder left in an env value", strings.Replace(baseTemplate, "value: fast", `value: "<your-token>"`, 1),
			[]problemWant{{sev: Warning, field: "inference.template.spec.containers[0].env[0].value", line: 18, msg: `"<your-token>" is a placeholder copied from the docs`}}},
		{"placeholder left in a container command", strings.Replace(baseTemplate, "          env:\n", "          command: [\"serve\", \"--model=YOUR_MODEL\"]\n          env:\n", 1),
			[]problemWant{{sev: Warning, field: "inference.template.spec.containers[0].command[1]", line: 16, msg: `"YOUR_MODEL" is a placeholder`}}},
		{"adapters with a template", baseTemplate + `  adapters:
    - source:
        name: dolly
        image: myregistry.azurecr.io/adapter-phi3:0.0.1
`, []problemWant{{sev: Warning, field: "inference.adapters", line: 19, msg: "adapters are loaded only into a preset's server: with a template they are ignored"}}},
		// Kaito judges the runtime against adapters only for presets.
		{"adapter strength with a template", baseTemplate + `  adapters:
    - source:
        name: dolly
        image: myregistry.azurecr.io/adapter-phi3:0.0.1
      strength: "0.5"
`, []problemWant{{sev: Warning, field: "inference.adapters", line: 19, msg: "with a template they are ignored"}}},
	})
}

func TestValidateAdapters(t *testing.T) {
	// adapter replaces the first adapter (lines 14 to 16) of the adapters baseline.
	adapter := func(block string) string {
		old := "    - source:\n        name: dolly\n        image: myregistry.azurecr.io/adapter-phi3:0.0.1\n"
		return strings.Replace(baseAdapters, old, block, 1)
	}
	var eleven strings.Builder
	for i := range 11 {
		fmt.Fprintf(&eleven, "    - source: {name: a%d, image: \"myregistry.azurecr.io/a%d:1\"}\n", i, i)
	}
	runValidationCases(t, []validationCase{
		{"more than 10 adapters", strings.SplitAfter(baseAdapters, "  adapters:\n")[0] + eleven.String(),
			[]problemWant{{sev: Error, field: "inference.adapters", line: 13, msg: "at most 10 adapters per workspace, got 11"}}},
		{"duplicate adapter name", strings.Replace(baseAdapters, "name: support", "name: dolly", 1),
			[]problemWant{{sev: Error, field: "inference.adapters[1].source.name", line: 18, msg: `adapter name "dolly" is already used by inference.adapters[0]`}}},
		{"adapter name not a DNS label", strings.Replace(baseAdapters, "name: dolly", "name: Dolly_V2", 1),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source.name", line: 15, msg: `"Dolly_V2" is not a valid name`}}},
		// Kaito wants a DNS subdomain; render names containers and volumes after the adapter.
		{"adapter name with a dot", strings.Replace(baseAdapters, "name: dolly", "name: dolly.v2", 1),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source.name", line: 15, msg: `"dolly.v2" is not a valid name`}}},
		{"adapter name missing", adapter("    - source:\n        image: myregistry.azurecr.io/adapter-phi3:0.0.1\n"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source.name", line: 14, msg: "an adapter name is required"}}},
		{"adapter name placeholder", strings.Replace(baseAdapters, "name: dolly", "name: ADAPTER_NAME_HERE", 1),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source.name", line: 15, msg: `"ADAPTER_NAME_HERE" is a placeholder`}}},
		{"adapter name placeholder that is a valid name", strings.Replace(baseAdapters, "name: dolly", "name: changeme", 1),
			[]problemWant{{sev: Warning, field: "inference.adapters[0].source.name", line: 15, msg: `"changeme" is a placeholder`}}},
		{"adapter without source", adapter("    - {}\n"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source", line: 14, msg: "an adapter needs a source"}}},
		{"adapter with image and volume", adapter("    - source:\n        name: dolly\n        image: myregistry.azurecr.io/adapter-phi3:0.0.1\n        volumeSource:\n          emptyDir: {}\n"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source", line: 14, msg: "set either image or volumeSource, not both"}}},
		{"adapter with neither image nor volume", adapter("    - source:\n        name: dolly\n"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source", line: 14, msg: "an adapter needs an image or a volumeSource"}}},
		{"adapter with urls", adapter("    - source:\n        name: dolly\n        urls: [\"https://huggingface.co/adapter.safetensors\"]\n"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source.urls", line: 16, msg: "adapters load from an image or a volumeSource, not urls"}}},
		{"adapter image is a placeholder", strings.Replace(baseAdapters, "myregistry.azurecr.io/adapter-phi3:0.0.1", "ACR_REPO_HERE.azurecr.io/ADAPTER_HERE:0.0.1", 1),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source.image", line: 16, msg: `"ACR_REPO_HERE" is a placeholder copied from the docs: replace it with your own value (an image reference such as`}}},
		{"adapter image placeholder in a valid reference", strings.Replace(baseAdapters, "myregistry.azurecr.io/adapter-phi3:0.0.1", "myregistry.azurecr.io/changeme:0.0.1", 1),
			[]problemWant{{sev: Warning, field: "inference.adapters[0].source.image", line: 16, msg: `"changeme" is a placeholder`}}},
		{"adapter image invalid", strings.Replace(baseAdapters, "myregistry.azurecr.io/adapter-phi3:0.0.1", "myregistry.azurecr.io/adapter phi3", 1),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source.image", line: 16, msg: "is not a valid image reference"}}},
		// Kaito's reference.ParseDockerRef reads "adapter-phi3:0.0.1" as docker.io/library/adapter-phi3:0.0.1.
		{"adapter image without a registry", strings.Replace(baseAdapters, "myregistry.azurecr.io/adapter-phi3:0.0.1", "adapter-phi3:0.0.1", 1),
			[]problemWant{{sev: Warning, field: "inference.adapters[0].source.image", line: 16, msg: `"adapter-phi3:0.0.1" has no registry, so Kaito reads it as docker.io/library/adapter-phi3:0.0.1`}}},
		{"adapter imagePullSecrets name invalid", adapter("    - source:\n        name: dolly\n        image: myregistry.azurecr.io/adapter-phi3:0.0.1\n        imagePullSecrets: [Acr_Pull]\n"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].source.imagePullSecrets[0]", line: 17, msg: "not a valid Secret name (the value is not shown"}}},
		// Kaito's PresetParam.Validate: any strength, even "1.0", with vLLM.
		{"strength with vLLM", strings.Replace(withStrength(baseAdapters, "1.0"), "    kaito.sh/runtime: transformers\n", "    kaito.sh/runtime: vllm\n", 1),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 19, msg: "vLLM does not support adapter strength: remove strength or set kaito.sh/runtime: transformers"}}},
		{"strength with the default runtime", strings.Replace(withStrength(baseAdapters, "0.5"), "  annotations:\n    kaito.sh/runtime: transformers\n", "", 1),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 17, msg: "vLLM does not support adapter strength"}}},
		{"strength above 1", withStrength(baseAdapters, "1.5"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 19, msg: "1.5 is outside 0.0..1.0"}}},
		{"strength below 0", withStrength(baseAdapters, "-0.1"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 19, msg: "-0.1 is outside 0.0..1.0"}}},
		{"strength NaN", withStrength(baseAdapters, "NaN"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 19, msg: "NaN is outside 0.0..1.0"}}},
		{"strength not a number", withStrength(baseAdapters, "strong"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 19, msg: `"strong" is not a number between 0.0 and 1.0`}}},
		{"strength with spaces (Kaito parses it as is)", withStrength(baseAdapters, " 0.5"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 19, msg: `" 0.5" is not a number`}}},
		{"strength is a placeholder", withStrength(baseAdapters, "<strength>"),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 19, msg: `"<strength>" is a placeholder`}}},
		{"strength unquoted", strings.Replace(withStrength(baseAdapters, "0.5"), `"0.5"`, `0.5`, 1),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 19, msg: `expected a string, got the number 0.5: quote it ("0.5")`}}},
		{"strength unquoted with vLLM: only the decoder speaks", strings.Replace(strings.Replace(withStrength(baseAdapters, "0.5"), `"0.5"`, `0.5`, 1), "  annotations:\n    kaito.sh/runtime: transformers\n", "", 1),
			[]problemWant{{sev: Error, field: "inference.adapters[0].strength", line: 17, msg: `expected a string, got the number 0.5`}}},
	})
}

func TestValidateTuning(t *testing.T) {
	// input and output replace blocks of the urls→image tuning baseline.
	const urlInput = "  input:\n    urls:\n      - https://huggingface.co/datasets/philschmid/dolly-15k-oai-style/resolve/main/train.parquet\n"
	const imageOutput = "  output:\n    image: myregistry.azurecr.io/adapters/phi-3-dolly:0.0.1\n    imagePushSecret: acr-push\n"
	input := func(block string) string { return strings.Replace(baseTuningURLs, urlInput, block, 1) }
	output := func(block string) string { return strings.Replace(baseTuningURLs, imageOutput, block, 1) }
	url := func(u string) string { return input("  input:\n    urls:\n      - " + u + "\n") }

	runValidationCases(t, []validationCase{
		{"tuning count above 1", strings.Replace(baseTuningURLs, "resource:\n", "resource:\n  count: 2\n", 1),
			[]problemWant{{sev: Error, field: "resource.count", line: 6, msg: "a tuning job runs on one node: count must be 1, got 2"}}},
		{"tuning preset missing", strings.Replace(baseTuningURLs, "  preset:\n    name: phi-3-mini-128k-instruct\n", "", 1),
			[]problemWant{{sev: Error, field: "tuning.preset", line: 10, msg: "a preset to fine-tune is required"}}},
		{"tuning preset unknown", strings.Replace(baseTuningURLs, "phi-3-mini-128k-instruct", "phi-3-mini-128k-instrukt", 1),
			[]problemWant{{sev: Error, field: "tuning.preset.name", line: 12, msg: `unknown preset "phi-3-mini-128k-instrukt" (did you mean "phi-3-mini-128k-instruct"?)`}}},
		{"tuning preset without tuning support", strings.Replace(baseTuningURLs, "phi-3-mini-128k-instruct", "deepseek-r1-distill-llama-8b", 1),
			[]problemWant{{sev: Error, field: "tuning.preset.name", line: 12, msg: `Kaito v0.12.0 cannot tune "deepseek-r1-distill-llama-8b"`}}},
		// Kaito lists tuning parameters for mistral-7b-v0.3 but panics looking up its weights image.
		{"tuning a preset whose tuning crashes Kaito", strings.Replace(baseTuningURLs, "phi-3-mini-128k-instruct", "mistral-7b", 1),
			[]problemWant{{sev: Error, field: "tuning.preset.name", line: 12, msg: `Kaito v0.12.0 cannot tune "mistral-7b"`}}},
		{"tuning a removed preset", strings.Replace(baseTuningURLs, "phi-3-mini-128k-instruct", "falcon-7b", 1),
			[]problemWant{{sev: Error, field: "tuning.preset.name", line: 12, msg: `preset "falcon-7b" was removed in Kaito v0.11.0`}}},
		// Kaito sizes no tuning job: kaito-sync's estimate is only a warning.
		{"tuning preset too big for the SKU", strings.Replace(strings.Replace(baseTuningURLs, "Standard_NC24ads_A100_v4", "Standard_NC6s_v3", 1),
			"phi-3-mini-128k-instruct", "phi-3-medium-128k-instruct", 1),
			[]problemWant{{sev: Warning, field: "resource.instanceType", line: 6, msg: "Kaito's estimator gives microsoft/Phi-3-medium-128k-instruct 3 GPUs of 16Gi (26Gi of weights at max-model-len 2048); one Standard_NC6s_v3 has 16Gi on 1 GPU and microsoft/Phi-3-medium-128k-instruct cannot span nodes: pick a SKU that holds it on one node; SKUs that fit: Standard_NC24ads_A100_v4, Standard_NC40ads_H100_v5, Standard_NCC40ads_H100_v5 (Kaito does not check this for tuning"}}},
		{"tuning with a partition", strings.Replace(strings.Replace(baseTuningURLs, "kaito.sh/v1alpha1", "kaito.sh/v1beta1", 1), "  instanceType: Standard_NC24ads_A100_v4\n", "  partition:\n    mode: accelerator\n    count: 1\n", 1),
			[]problemWant{{sev: Error, field: "resource.partition", line: 6, msg: "GPU partitioning is not supported for tuning: remove partition"}}},
		{"tuning on an unknown instanceType", strings.Replace(baseTuningURLs, "Standard_NC24ads_A100_v4", "Standard_NC24ads_A100_v9", 1),
			[]problemWant{{sev: Error, field: "resource.instanceType", line: 6, msg: `unknown GPU instance type "Standard_NC24ads_A100_v9"`}}},
		{"tuning method missing", strings.Replace(baseTuningURLs, "  method: qlora\n", "", 1),
			[]problemWant{{sev: Error, field: "tuning.method", line: 10, msg: "a method is required: lora or qlora"}}},
		{"tuning method unknown", strings.Replace(baseTuningURLs, "method: qlora", "method: full", 1),
			[]problemWant{{sev: Error, field: "tuning.method", line: 13, msg: `"full" is not one of lora, qlora`}}},
		{"tuning config is a placeholder", strings.Replace(baseTuningURLs, "  method: qlora\n", "  method: qlora\n  config: <your-config>\n", 1),
			[]problemWant{
				{sev: Error, field: "tuning.config", line: 14, msg: `"<your-config>" is a placeholder`},
				{sev: Warning, field: "tuning.config", line: 14, msg: `ConfigMap "<your-config>" is not in the repository`},
			}},
		{"input missing", input(""),
			[]problemWant{{sev: Error, field: "tuning.input", line: 10, msg: "input data is required: urls, an image or a volumeSource"}}},
		{"input with no source", input("  input:\n    name: dolly\n"),
			[]problemWant{{sev: Error, field: "tuning.input", line: 14, msg: "set exactly one of urls, image or volumeSource (got 0)"}}},
		{"input with two sources", input(urlInput + "    image: myregistry.azurecr.io/data/dolly:1\n"),
			[]problemWant{{sev: Error, field: "tuning.input", line: 14, msg: "set exactly one of urls, image or volumeSource (got 2)"}}},
		{"input with three sources", input(urlInput + "    image: myregistry.azurecr.io/data/dolly:1\n    volumeSource:\n      emptyDir: {}\n"),
			[]problemWant{{sev: Error, field: "tuning.input", line: 14, msg: "(got 3)"}}},
		{"input url not http", url("ftp://huggingface.co/data.parquet"),
			[]problemWant{{sev: Error, field: "tuning.input.urls[0]", line: 16, msg: "only http and https URLs can be downloaded"}}},
		{"input url at the metadata service", url("http://169.254.169.254/metadata/identity"),
			[]problemWant{{sev: Error, field: "tuning.input.urls[0]", line: 16, msg: "points at 169.254.169.254 (cloud metadata service)"}}},
		{"input url at an obfuscated loopback", url("http://0x7f000001:8080/data"),
			[]problemWant{{sev: Error, field: "tuning.input.urls[0]", line: 16, msg: "points at 127.0.0.1 (loopback)"}}},
		{"input url with credentials", url("https://user:s3cret@huggingface.co/data.parquet"),
			[]problemWant{{sev: Error, field: "tuning.input.urls[0]", line: 16, msg: "https://REDACTED@huggingface.co/data.parquet"}}},
		{"input url is a placeholder", url("https://<your-storage>/data.parquet"),
			[]problemWant{{sev: Error, field: "tuning.input.urls[0]", line: 16, msg: `"<your-storage>" is a placeholder`}}},
		{"input image invalid", input("  input:\n    image: myregistry.azurecr.io/Data:1\n"),
			[]problemWant{{sev: Error, field: "tuning.input.image", line: 15, msg: "is not a valid image reference"}}},
		// Kaito only parses the reference (reference.ParseDockerRef).
		{"input image without a registry", input("  input:\n    image: dolly:1\n"),
			[]problemWant{{sev: Warning, field: "tuning.input.image", line: 15, msg: `"dolly:1" has no registry, so Kaito reads it as docker.io/library/dolly:1`}}},
		// Kaito only keeps input.name from changing.
		{"input name not a DNS label", input("  input:\n    name: Dolly Data\n" + urlInput[len("  input:\n"):]),
			[]problemWant{{sev: Warning, field: "tuning.input.name", line: 15, msg: `"Dolly Data" is not a valid name`}}},
		{"input url with a placeholder host", url("https://YOUR_ACCOUNT.blob.core.windows.net/data.parquet"),
			[]problemWant{{sev: Warning, field: "tuning.input.urls[0]", line: 16, msg: `"YOUR_ACCOUNT" is a placeholder`}}},
		{"input imagePullSecrets name invalid", input("  input:\n    image: myregistry.azurecr.io/data/dolly:1\n    imagePullSecrets: [Acr_Pull]\n"),
			[]problemWant{{sev: Error, field: "tuning.input.imagePullSecrets[0]", line: 16, msg: "not a valid Secret name (the value is not shown"}}},
		{"output missing", output(""),
			[]problemWant{{sev: Error, field: "tuning.output", line: 10, msg: "an output is required"}}},
		{"output with image and volume", output(imageOutput + "    volumeSource:\n      emptyDir: {}\n"),
			[]problemWant{{sev: Error, field: "tuning.output", line: 17, msg: "set either image or volumeSource, not both"}}},
		{"output with neither image nor volume", output("  output:\n    imagePushSecret: acr-push\n"),
			[]problemWant{{sev: Error, field: "tuning.output", line: 17, msg: "set an image (with imagePushSecret) or a volumeSource"}}},
		{"image output without imagePushSecret", output("  output:\n    image: myregistry.azurecr.io/adapters/phi-3-dolly:0.0.1\n"),
			[]problemWant{{sev: Error, field: "tuning.output.imagePushSecret", line: 17, msg: "an image output needs imagePushSecret"}}},
		{"output image invalid", output("  output:\n    image: \"myregistry.azurecr.io/adapters/phi-3-dolly:\"\n    imagePushSecret: acr-push\n"),
			[]problemWant{{sev: Error, field: "tuning.output.image", line: 18, msg: "is not a valid image reference"}}},
		{"output image without a tag", output("  output:\n    image: myregistry.azurecr.io/adapters/phi-3-dolly\n    imagePushSecret: acr-push\n"),
			[]problemWant{{sev: Warning, field: "tuning.output.image", line: 18, msg: `"myregistry.azurecr.io/adapters/phi-3-dolly" has no tag, so it means myregistry.azurecr.io/adapters/phi-3-dolly:latest`}}},
		{"output image placeholder", output("  output:\n    image: ACR_REPO_HERE.azurecr.io/ADAPTER_HERE:0.0.1\n    imagePushSecret: acr-push\n"),
			[]problemWant{{sev: Error, field: "tuning.output.image", line: 18, msg: `"ACR_REPO_HERE" is a placeholder`}}},
		{"imagePushSecret name invalid", output("  output:\n    image: myregistry.azurecr.io/adapters/phi-3-dolly:0.0.1\n    imagePushSecret: ACR_PUSH\n"),
			[]problemWant{{sev: Error, field: "tuning.output.imagePushSecret", line: 19, msg: "not a valid Secret name (the value is not shown"}}},
		{"volume tuning: input volume and urls", strings.Replace(baseTuningVolumes, "    name: tickets\n", "    name: tickets\n    urls: [\"https://huggingface.co/d.parquet\"]\n", 1),
			[]problemWant{{sev: Error, field: "tuning.input", line: 14, msg: "(got 2)"}}},
	})
}

// TestValidateMatchesCheck: the exported Validate judges one workspace like Check does when no
// companion is involved.
func TestValidateMatchesCheck(t *testing.T) {
	is := is.New(t)
	doc := withStrength(baseAdapters, "2")
	s := checkYAML(t, map[string]string{"ws.yaml": doc})
	is.Equal(len(s.Workspaces), 1)
	got := Validate(s.Workspaces[0], presets.Default())
	got.Sort()
	is.Equal(got, s.Problems)
	is.Equal(len(got), 1)
}

func TestCheckDefaultNamespace(t *testing.T) {
	tests := []struct{ ns, wantErr string }{
		{"default", ""},
		{"team-a", ""},
		{"", "--default-namespace is empty"},
		{"Team_A", `--default-namespace "Team_A" is not a valid name`},
		{"../kube-system", "is not a valid name"},
		{"a.b", "is not a valid name"},
		{strings.Repeat("a", 64), "is not a valid name"},
	}
	for _, tt := range tests {
		t.Run(tt.ns, func(t *testing.T) {
			is := is.New(t)
			err := CheckDefaultNamespace(tt.ns)
			if tt.wantErr == "" {
				is.NoErr(err)
				return
			}
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.wantErr))
		})
	}
}
