// Package bench measures kaito-sync end to end against a real control plane (test/e2e/testenv):
// render, cold sync, no-op resync, push → applied, peak RSS, Git fetch, and the same objects applied
// by `kubectl apply --server-side` and by a plain parallel server-side apply (the floor), each in the
// same run so ratios hold on a shared machine. Generate makes the repository; the benchmarks are in
// bench_test.go, and hack/bench.sh runs them all and prints the table (BENCHMARKS.md).
package bench

import (
	"fmt"
	"strings"
)

// Options shape a generated fleet.
type Options struct {
	// N is the number of workspaces.
	N int
	// Namespaces spreads them (default 7, prime to the 20 variants so every team gets every kind).
	Namespaces int
	// Prefix starts every namespace name ("<prefix>-team-<i>"), so several fleets can share a
	// cluster (default "bench").
	Prefix string
	// Unique gives every workspace its own node label selector, so no two share a shape and every
	// render is a krusty build: the worst case for the render cache.
	Unique bool
	// Generation is written into every workspace's adapter strength pick, so a fleet can be
	// changed as a whole; 0 for the first.
	Generation int
}

// variants is the mix, by weight out of 20: mostly plain inference, then adapters, the other
// runtimes and families, inference configs, multi-GPU, gated models, templates, tuning (volumes
// and URLs) and bring-your-own nodes. {{name}}, {{ns}}, {{sel}} and {{strength}} are filled per
// workspace.
var variants = []struct {
	name   string
	weight int
	doc    string
}{
	{"phi3", 5, `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  instanceType: Standard_NC6s_v3
  labelSelector:
    matchLabels:
      apps: {{sel}}
inference:
  preset:
    name: phi-3-mini-4k-instruct
`},
	{"phi3-adapter", 3, `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  instanceType: Standard_NC6s_v3
  labelSelector:
    matchLabels:
      apps: {{sel}}
inference:
  preset:
    name: phi-3-mini-128k-instruct
  adapters:
    - source:
        name: tone
        image: myregistry.azurecr.io/adapters/tone:0.1.0
      strength: "{{strength}}"
`},
	{"phi4-tf", 2, `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
  annotations:
    kaito.sh/runtime: transformers
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: {{sel}}
inference:
  preset:
    name: phi-4
`},
	{"qwen-config", 2, `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  instanceType: Standard_NV36ads_A10_v5
  labelSelector:
    matchLabels:
      apps: {{sel}}
inference:
  preset:
    name: qwen2.5-coder-7b-instruct
  config: {{name}}-params
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{name}}-params
  namespace: {{ns}}
data:
  inference_config.yaml: |
    vllm:
      gpu-memory-utilization: 0.95
      max-model-len: 8192
`},
	{"mistral", 2, `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  instanceType: Standard_NV36ads_A10_v5
  labelSelector:
    matchLabels:
      apps: {{sel}}
inference:
  preset:
    name: mistral-7b-instruct
`},
	{"qwen32b", 1, `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  instanceType: Standard_NC48ads_A100_v4
  labelSelector:
    matchLabels:
      apps: {{sel}}
inference:
  preset:
    name: qwen2.5-coder-32b-instruct
`},
	{"llama-gated", 1, `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: {{sel}}
inference:
  preset:
    name: llama-3.1-8b-instruct
    presetOptions:
      modelAccessSecret: hf-token
`},
	{"template", 1, `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: {{sel}}
inference:
  template:
    spec:
      containers:
        - name: server
          image: ghcr.io/huggingface/text-generation-inference:1.4
          args: ["--model-id", "tiiuae/falcon-7b", "--port", "5000"]
          ports:
            - containerPort: 5000
          resources:
            limits:
              nvidia.com/gpu: 1
`},
	{"tune-lora", 1, `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      app: {{sel}}
tuning:
  preset:
    name: phi-3-mini-4k-instruct
  method: lora
  config: {{name}}-params
  input:
    name: tickets
    volumeSource:
      persistentVolumeClaim:
        claimName: {{name}}-input
  output:
    volumeSource:
      persistentVolumeClaim:
        claimName: {{name}}-output
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{name}}-input
  namespace: {{ns}}
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: 50Gi
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{name}}-output
  namespace: {{ns}}
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: 20Gi
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{name}}-params
  namespace: {{ns}}
data:
  training_config.yaml: |
    training_config:
      LoraConfig:
        r: 8
        lora_alpha: 8
      TrainingArguments:
        output_dir: "/mnt/results"
        num_train_epochs: 2
`},
	{"tune-qlora", 1, `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      app: {{sel}}
tuning:
  preset:
    name: phi-3-mini-128k-instruct
  method: qlora
  input:
    urls:
      - "https://huggingface.co/datasets/philschmid/dolly-15k-oai-style/resolve/main/data/train.parquet"
  output:
    image: "myregistry.azurecr.io/adapters/{{name}}:0.0.1"
    imagePushSecret: acr-push
`},
	{"byo", 1, `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: {{name}}
  namespace: {{ns}}
resource:
  labelSelector:
    matchLabels:
      gpu-pool: {{sel}}
  preferredNodes:
    - aks-gpu-12345678-vmss000000
inference:
  preset:
    name: phi-3.5-mini-instruct
`},
}

// order picks the variant of the i-th workspace: the weights interleaved, so any prefix of a
// fleet is mixed.
var order = func() []int {
	var o []int
	for round := 0; len(o) < 20; round++ {
		for v, x := range variants {
			if round < x.weight {
				o = append(o, v)
			}
		}
	}
	return o
}()

var strengths = []string{"0.2", "0.5", "0.8", "1.0"}

// Workspace is one generated workspace: its file and its key.
type Workspace struct {
	Path, Namespace, Name, Variant string
}

// Generate returns the fleet as files, by path ("workspaces/<namespace>/<name>.yaml"), and the
// workspaces in order.
func Generate(o Options) (map[string]string, []Workspace) {
	if o.Namespaces <= 0 {
		o.Namespaces = 7
	}
	if o.Prefix == "" {
		o.Prefix = "bench"
	}
	files := make(map[string]string, o.N)
	wss := make([]Workspace, 0, o.N)
	for i := range o.N {
		w := Workspace{Namespace: fmt.Sprintf("%s-team-%d", o.Prefix, i%o.Namespaces)}
		w.Variant = variants[order[i%len(order)]].name
		w.Name = fmt.Sprintf("%s-%05d", w.Variant, i)
		w.Path = "workspaces/" + w.Namespace + "/" + w.Name + ".yaml"
		files[w.Path] = Render(w, o, i)
		wss = append(wss, w)
	}
	return files, wss
}

// Render is the file of the i-th workspace of a fleet; change o.Generation to change it.
func Render(w Workspace, o Options, i int) string {
	doc := ""
	for _, v := range variants {
		if v.name == w.Variant {
			doc = v.doc
		}
	}
	sel := w.Variant
	if o.Unique {
		sel = w.Name
	}
	return strings.NewReplacer(
		"{{name}}", w.Name, "{{ns}}", w.Namespace, "{{sel}}", sel,
		"{{strength}}", strengths[(i+o.Generation)%len(strengths)],
	).Replace(doc)
}
