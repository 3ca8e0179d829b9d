package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const casesDir = "../testdata/conformance"

// caseDirs are the conformance cases (folders of casesDir).
func caseDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(casesDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) == 0 {
		t.Fatal("no conformance cases in " + casesDir)
	}
	return dirs
}

func readCase(t *testing.T, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(casesDir, dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decode(t *testing.T, yaml string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := DecodeYAML([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func project(t *testing.T, yaml string) Projection {
	t.Helper()
	p, err := Project(decode(t, yaml))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Every case projects, its workload has a "main" container (the GPU one) and each of its
// objects, the workload's main container and every Service ends up in the projection; a second
// decode and projection of the same file has no difference.
func TestCasesProjectWithoutDiff(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(dir, func(t *testing.T) {
			is := is.New(t)
			kaito := readCase(t, dir, "kaito.yaml")
			objs := decode(t, kaito)
			is.Equal(len(objs), strings.Count(kaito, "\n---\n")+1) // every document decoded
			p := project(t, kaito)
			is.Equal(len(p), len(objs))
			mains := 0
			for k, f := range p {
				if _, ok := f["container main: image"]; ok {
					mains++
					is.True(f["container main: command"] != "[]") // the model server's command is projected
				}
				if k.Kind == "Service" {
					is.True(f["selector"] != "[]")
				}
			}
			is.Equal(mains, 1) // one workload, its GPU container found
			is.Equal(Diff(p, project(t, kaito), nil), nil)
		})
	}
}

// edit replaces old, which must occur exactly once, by new.
type edit struct{ old, new string }

// Each mutation of a case's kaito.yaml is, or is not, a difference from the case as it is. A
// difference must be reported as exactly the lines in want (substrings, in Diff's order).
func TestMutations(t *testing.T) {
	tests := []struct {
		name   string
		dir    string
		edits  []edit
		append string // documents added to kaito.yaml
		ignore bool   // Diff ignores extra objects declared in the case's workspace.yaml
		want   []string
	}{
		{
			name:  "image changed",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"kaito-base:0.5.0", "kaito-base:0.6.0"}},
			want: []string{"StatefulSet/default/workspace-phi-4-mini: container main: image: " +
				"want mcr.microsoft.com/aks/kaito/kaito-base:0.5.0 got mcr.microsoft.com/aks/kaito/kaito-base:0.6.0"},
		},
		{
			name: "env var dropped",
			dir:  "04-llama-3.1-8b-gated",
			edits: []edit{{"        - name: HF_TOKEN\n          valueFrom:\n            secretKeyRef:\n              key: HF_TOKEN\n" +
				"              name: hf-token\n              optional: true\n", ""}},
			want: []string{"StatefulSet/default/workspace-llama-3-1-8b-instruct: container main: env HF_TOKEN: " +
				`want {"secretKeyRef":{"name":"hf-token","key":"HF_TOKEN","optional":true}} got <missing>`},
		},
		{
			name:  "env secret key changed",
			dir:   "04-llama-3.1-8b-gated",
			edits: []edit{{"key: HF_TOKEN", "key: TOKEN"}},
			want:  []string{`container main: env HF_TOKEN: want {"secretKeyRef":{"name":"hf-token","key":"HF_TOKEN"`},
		},
		{
			name: "env reordered",
			dir:  "01-phi-4-mini-vllm",
			edits: []edit{{"        - name: VLLM_USE_FLASHINFER_SAMPLER\n          value: \"0\"\n        - name: VLLM_USE_DEEP_GEMM\n",
				"        - name: VLLM_USE_DEEP_GEMM\n          value: \"0\"\n        - name: VLLM_USE_FLASHINFER_SAMPLER\n"}},
		},
		{
			name:  "--flags reordered inside the sh -c script",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"--tokenizer_mode=auto --load_format=auto", "--load_format=auto --tokenizer_mode=auto"}},
		},
		{
			name: "--flags reordered within each command of the multi-node script",
			dir:  "06-multi-node-llama-70b",
			edits: []edit{
				{"--ray_cluster_size=3 --ray_port=6379;", "--ray_port=6379 --ray_cluster_size=3;"},
				{"--config_format=auto --tokenizer_mode=auto", "--tokenizer_mode=auto --config_format=auto"},
			},
		},
		{
			name:  "flag value changed",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"--gpu-memory-utilization=0.84", "--gpu-memory-utilization=0.9"}},
			want: []string{"StatefulSet/default/workspace-phi-4-mini: container main: command: want [" +
				"|(only in want: --gpu-memory-utilization=0.84; only in got: --gpu-memory-utilization=0.9)"},
		},
		{
			name: "flag moved to another command of the multi-node script",
			dir:  "06-multi-node-llama-70b",
			edits: []edit{
				{"--model=meta-llama/llama-3.3-70b-instruct --load_format=auto; else", "--model=meta-llama/llama-3.3-70b-instruct; else"},
				{"--ray_port=6379; fi", "--ray_port=6379 --load_format=auto; fi"},
			},
			want: []string{"container main: command: want [|(same words, another order)"},
		},
		{
			name:  "flag moved across the script path it belongs after",
			dir:   "08-adapters",
			edits: []edit{{"/workspace/tfs/inference_api.py --torch_dtype=auto", "--torch_dtype=auto /workspace/tfs/inference_api.py"}},
			want:  []string{"container main: command: want [|(same words, another order)"},
		},
		{
			name:  "entrypoint words reordered",
			dir:   "08-adapters",
			edits: []edit{{"accelerate launch --machine_rank=0", "launch accelerate --machine_rank=0"}},
			want:  []string{"container main: command: want [|(same words, another order)"},
		},
		{
			name:  "multi-line script changed",
			dir:   "12-tuning-qlora-urls-image",
			edits: []edit{{"sleep 2", "sleep 3"}},
			want: []string{"Job/default/workspace-tuning-phi-3: container init/data-downloader: command script: " +
				`want (line 21) "            sleep 2" got "            sleep 3"`},
		},
		{
			name: "kaito.sh/workspace affinity term added",
			dir:  "12-tuning-qlora-urls-image",
			edits: []edit{{"              - key: app\n", "              - key: kaito.sh/workspace\n                operator: In\n" +
				"                values:\n                - workspace-tuning-phi-3\n              - key: app\n"}},
		},
		{
			name: "kaito.sh/workspace and workspacenamespace terms removed",
			dir:  "01-phi-4-mini-vllm",
			edits: []edit{{"              - key: kaito.sh/workspace\n                operator: In\n                values:\n" +
				"                - workspace-phi-4-mini\n              - key: kaito.sh/workspacenamespace\n                operator: In\n" +
				"                values:\n                - default\n", ""}},
		},
		{
			name:  "nodeSelector on kaito.sh/workspacenamespace added",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"      tolerations:\n", "      nodeSelector:\n        kaito.sh/workspacenamespace: default\n      tolerations:\n"}},
		},
		{
			name:  "node affinity value changed",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"                - phi-4-mini\n", "                - phi-4\n"}},
			want:  []string{`nodeAffinity required: want ["apps In [\"phi-4-mini\"]"] got ["apps In [\"phi-4\"]"]`},
		},
		{
			name:  "volume mount dropped",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"        - mountPath: /dev/shm\n          name: dshm\n", ""}},
			want:  []string{"container main: mount /dev/shm: want emptyDir medium=Memory got <missing>"},
		},
		{
			name:  "emptyDir medium dropped",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"      - emptyDir:\n          medium: Memory\n", "      - emptyDir: {}\n"}},
			want: []string{
				"container main: mount /dev/shm: want emptyDir medium=Memory got emptyDir",
				"volume dshm: want emptyDir medium=Memory got emptyDir",
			},
		},
		{
			name:  "volumeClaimTemplate size changed",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"storage: 87Gi", "storage: 88Gi"}},
			want:  []string{"volumeClaimTemplate model-weights-volume: size: want 87Gi got 88Gi"},
		},
		{
			name:  "Service targetPort changed",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"targetPort: 5000", "targetPort: 5001"}},
			want:  []string{`Service/default/workspace-phi-4-mini: ports: want ["dashboard 8265:8265/TCP","http 80:5000/TCP",`},
		},
		{
			name:  "tuning ConfigMap data changed",
			dir:   "12-tuning-qlora-urls-image",
			edits: []edit{{"        r: 8\n", "        r: 16\n"}},
			want: []string{"ConfigMap/default/qlora-params-template: data training_config.yaml: " +
				`want (line 15) "    r: 8" got "    r: 16"`},
		},
		{
			name:  "replicas changed",
			dir:   "06-multi-node-llama-70b",
			edits: []edit{{"  replicas: 3\n", "  replicas: 2\n"}},
			want:  []string{"StatefulSet/default/workspace-llama-3-3-70b-instruct: replicas: want 3 got 2"},
		},
		{
			name:  "probe failureThreshold changed",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"failureThreshold: 180", "failureThreshold: 181"}},
			want:  []string{"container main: probe startup: failureThreshold: want 180 got 181"},
		},
		{
			name: "probe fields set to their defaults",
			dir:  "01-phi-4-mini-vllm",
			edits: []edit{{"          initialDelaySeconds: 30\n",
				"          initialDelaySeconds: 30\n          timeoutSeconds: 1\n          failureThreshold: 3\n          successThreshold: 1\n"}},
		},
		{
			name:  "probe port given by the container port's name",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"            port: 5000\n          initialDelaySeconds: 30\n", "            port: http\n          initialDelaySeconds: 30\n"}},
		},
		{
			name:  "requests left to default to limits",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"          requests:\n            nvidia.com/gpu: \"1\"\n", ""}},
		},
		{
			name:  "GPU limit changed",
			dir:   "01-phi-4-mini-vllm",
			edits: []edit{{"          limits:\n            nvidia.com/gpu: \"1\"\n", "          limits:\n            nvidia.com/gpu: \"2\"\n"}},
			want:  []string{"container main: limits nvidia.com/gpu: want 1 got 2"},
		},
		{
			name: "tolerations reordered and an operator Equal spelled out",
			dir:  "12-tuning-qlora-urls-image",
			edits: []edit{
				{"      - effect: NoSchedule\n        key: sku\n        value: gpu\n", ""},
				{"        value: spot\n      volumes:\n",
					"        value: spot\n      - effect: NoSchedule\n        key: sku\n        operator: Equal\n        value: gpu\n      volumes:\n"},
			},
		},
		{
			name:  "toleration dropped",
			dir:   "12-tuning-qlora-urls-image",
			edits: []edit{{"      - effect: NoSchedule\n        key: sku\n        value: gpu\n", ""}},
			want:  []string{"Job/default/workspace-tuning-phi-3: tolerations: want [|(only in want: key=sku operator=Equal value=gpu effect=NoSchedule; only in got: )"},
		},
		{
			name:  "backoffLimit set to its default",
			dir:   "12-tuning-qlora-urls-image",
			edits: []edit{{"spec:\n  template:\n", "spec:\n  backoffLimit: 6\n  template:\n"}},
		},
		{
			name:  "backoffLimit changed",
			dir:   "12-tuning-qlora-urls-image",
			edits: []edit{{"spec:\n  template:\n", "spec:\n  backoffLimit: 0\n  template:\n"}},
			want:  []string{"Job/default/workspace-tuning-phi-3: backoffLimit: want 6 got 0"},
		},
		{
			name:  "image pull secret changed",
			dir:   "08-adapters",
			edits: []edit{{"      imagePullSecrets:\n      - name: acr-pull-secret\n", "      imagePullSecrets:\n      - name: other\n"}},
			want:  []string{`imagePullSecrets: want ["acr-pull-secret"] got ["other"]`},
		},
		{
			name:  "projected secret file renamed",
			dir:   "12-tuning-qlora-urls-image",
			edits: []edit{{"path: config.json", "path: acr-push-secret.json"}},
			want: []string{
				"container pusher: mount /root/.docker: want projected secret acr-push-secret items=[\".dockerconfigjson→config.json\"]",
				"volume docker-config: want projected secret acr-push-secret items=[\".dockerconfigjson→config.json\"]",
			},
		},
		{
			name:   "extra object",
			dir:    "13-tuning-lora-image-to-pvc",
			append: extraPVC,
			want:   []string{"PersistentVolumeClaim/default/tuning-output-pvc: object: want <missing> got present"},
		},
		{
			name:   "extra object declared beside the workspace, ignored",
			dir:    "13-tuning-lora-image-to-pvc",
			append: extraPVC,
			ignore: true,
		},
		{
			name:   "extra object not declared beside the workspace, while ignoring declared ones",
			dir:    "13-tuning-lora-image-to-pvc",
			append: "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: surprise\n  namespace: default\n",
			ignore: true,
			want:   []string{"ConfigMap/default/surprise: object: want <missing> got present"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			kaito := readCase(t, tc.dir, "kaito.yaml")
			mutated := kaito
			for _, e := range tc.edits {
				if n := strings.Count(mutated, e.old); n != 1 {
					t.Fatalf("%q occurs %d times in %s/kaito.yaml, want once", e.old, n, tc.dir)
				}
				mutated = strings.Replace(mutated, e.old, e.new, 1)
			}
			mutated += tc.append
			var ignore func(kind, name string) bool
			if tc.ignore {
				ignore = Declared(decode(t, readCase(t, tc.dir, "workspace.yaml")))
			}
			diffs := Diff(project(t, kaito), project(t, mutated), ignore)
			for _, d := range diffs {
				t.Log(d)
			}
			is.Equal(len(diffs), len(tc.want)) // number of differences
			for i, w := range tc.want {
				for _, part := range strings.Split(w, "|") {
					is.True(strings.Contains(diffs[i], part)) // the difference names the field and both values
				}
			}
		})
	}
}

// extraPVC is the companion of case 13 as kaito-sync renders it: Kaito's operator does not
// create it (the user declares it beside the workspace).
const extraPVC = `---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: tuning-output-pvc
  namespace: default
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: 10Gi
`
