package render

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testCommit stands for the commit a sync would render from.
const testCommit = "3f2c1e0d9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2"

// goldenCases are the inputs rendered to testdata/<name>.golden. Each names the cases of the issue's
// "done when" list it covers.
var goldenCases = []struct {
	name  string // golden file
	input string // relative to the render folder
	what  string
}{
	{"phi-4-mini-vllm", "testdata/conformance/01-phi-4-mini-vllm/workspace.yaml", "vLLM, 1 × A100 with NVMe: weights on a volumeClaimTemplate"},
	{"phi-3-mini-a10-v1alpha1", "testdata/conformance/02-phi-3-mini-4k-a10-v1alpha1/workspace.yaml", "kaito.sh/v1alpha1; A10: gpu-memory-utilization 0.82, emptyDir weights"},
	{"llama-3.1-8b-gated", "testdata/conformance/04-llama-3.1-8b-gated/workspace.yaml", "gated: HF_TOKEN from the Secret; tool-call parser"},
	{"llama-3.3-70b-multinode", "testdata/conformance/06-multi-node-llama-70b/workspace.yaml", "3 nodes by Kaito's estimator: Ray, pipeline parallel, exec probes"},
	{"adapters-transformers", "testdata/conformance/08-adapters/workspace.yaml", "transformers runtime; image adapters pulled by skopeo, strengths"},
	{"tuning-qlora-urls-image", "testdata/conformance/12-tuning-qlora-urls-image/workspace.yaml", "QLoRA: URL input, image output (pusher, pause), default config"},
	{"tuning-lora-image-to-pvc", "testdata/conformance/13-tuning-lora-image-to-pvc/workspace.yaml", "LoRA: image input with pull secret, PVC output"},
	{"gemma-3", "testdata/conformance/16-gemma-3/workspace.yaml", "served name of a Hugging Face id (gemma-3-4b-it)"},
	{"adapters-mixed-vllm", "testdata/adapters-mixed.yaml", "vLLM --enable-lora; image adapter with pull secret, volume adapter"},
	{"template-own-scheduling", "testdata/template-own-scheduling.yaml", "template with its own tolerations, affinity and port"},
	{"v100-quickstart", "testdata/v100-quickstart.yaml", "V100 below compute capability 8.0: transformers in float16 (kaito-sync's choice)"},
	{"loadbalancer-config", "testdata/loadbalancer-config.yaml", "LoadBalancer without kv-events; inference config mounted; 2 GPUs"},
	{"tuning-volumes-own-config", "testdata/tuning-volumes-own-config.yaml", "tuning: volume in and out, own config with a relative output_dir"},
	{"tuning-image-input", "testdata/tuning-image-input.yaml", "tuning: image input, volume output, default LoRA config"},
	{"byo-nodes", "testdata/byo-nodes.yaml", "bring-your-own nodes: no provisioned-node terms, one GPU"},
	{"llama3-gated-secret", "testdata/llama3-gated-secret.yaml", "gated model with its Secret beside it"},
	{"mistral-7b-instruct-a10", "testdata/mistral-vllm.yaml", "mistral format (load/config/tokenizer mode)"},
	{"deepseek-distill", "testdata/deepseek-vllm.yaml", "reasoning parser"},
	{"gpt-oss-20b-h100", "testdata/gpt-vllm.yaml", "H100; LMCache off for this architecture"},
}

// loaded is one valid workspace of a file with the companions it references.
type loaded struct {
	ws         *workspaces.Workspace
	companions []*workspaces.Companion
}

// load reads and checks a file; it fails the test on any error-level problem.
func load(t testing.TB, file string) []loaded {
	t.Helper()
	dir, name := filepath.Split(file)
	set, err := workspaces.Load(os.DirFS(dir), name, workspaces.Options{AllowSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	workspaces.Check(set, presets.Default(), workspaces.CheckOptions{})
	if set.Problems.HasErrors() {
		t.Fatalf("%s is not valid: %v", file, set.Problems)
	}
	var out []loaded
	for _, ws := range set.Valid() {
		refs := workspaces.References(ws)
		var comps []*workspaces.Companion
		for _, c := range set.Companions {
			if slices.Contains(refs, c.Key()) {
				comps = append(comps, c)
			}
		}
		out = append(out, loaded{ws, comps})
	}
	if len(out) == 0 {
		t.Fatalf("%s has no workspace", file)
	}
	return out
}

func source(input string) Source {
	return Source{Path: path.Clean(strings.TrimPrefix(input, "../")), Commit: testCommit}
}

// renderFile renders every workspace of a file with a fresh renderer.
func renderFile(t testing.TB, input string) []*Result {
	t.Helper()
	r := New(presets.Default())
	var out []*Result
	for _, l := range load(t, input) {
		res, err := r.Render(l.ws, l.companions, source(input))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

// golden is what a golden file holds: every overlay file, then the built objects.
func golden(t testing.TB, results []*Result) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, res := range results {
		for _, p := range sortedKeys(res.Overlay) {
			fmt.Fprintf(&b, "#### %s\n", p)
			b.Write(res.Overlay[p])
		}
		fmt.Fprintf(&b, "#### objects of %s (hash %s)\n", res.Key, res.Hash)
		objs, err := MarshalObjects(res.Objects)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(objs)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			got := golden(t, renderFile(t, tc.input))
			file := filepath.Join("testdata", tc.name+".golden")
			if *update {
				is.NoErr(os.WriteFile(file, got, 0o644))
			}
			want, err := os.ReadFile(file)
			is.NoErr(err) // run go test ./render -update to create the golden files
			if !bytes.Equal(got, want) {
				t.Errorf("%s (%s) differs from the golden file; if the change is intended, run go test ./render -update\n%s",
					tc.name, tc.what, firstDiff(string(want), string(got)))
			}
		})
	}
}

// TestEveryGoldenHasACase catches golden files left behind by a renamed case.
func TestEveryGoldenHasACase(t *testing.T) {
	is := is.New(t)
	files, err := filepath.Glob("testdata/*.golden")
	is.NoErr(err)
	var names []string
	for _, c := range goldenCases {
		names = append(names, c.name)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".golden")
		if !slices.Contains(names, name) {
			t.Errorf("%s has no case in goldenCases: delete it", f)
		}
	}
}

// firstDiff shows the first differing line with some context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %q\n  got:  %q", i+1, w, g)
		}
	}
	return "(no line differs)"
}
