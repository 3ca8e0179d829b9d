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
	{"phi2-transformers", "testdata/phi2-transformers.yaml", "family phi2; transformers-only preset; V100: float16"},
	{"phi3-vllm", "../examples/workspaces/inference/phi-3-mini.yaml", "family phi3; vLLM (default runtime); V100: float16"},
	{"phi4-transformers", "../examples/workspaces/inference/phi-4-transformers.yaml", "family phi4; transformers by annotation"},
	{"falcon-multi-gpu", "../examples/workspaces/multi-gpu/falcon-40b.yaml", "family falcon; multi-GPU SKU: 2 GPUs, tensor parallel 2"},
	{"mistral-vllm", "testdata/mistral-vllm.yaml", "family mistral"},
	{"qwen-loadbalancer-config", "../examples/workspaces/inference/qwen-coder-vllm-config.yaml", "family qwen; LoadBalancer annotation; inference config"},
	{"deepseek-vllm", "testdata/deepseek-vllm.yaml", "family deepseek"},
	{"llama3-gated", "../examples/workspaces/inference/llama-3.1-8b-gated.yaml", "family llama3; gated model, secret in the cluster"},
	{"llama3-gated-secret", "testdata/llama3-gated-secret.yaml", "gated model with its Secret beside it"},
	{"llama3-multinode", "../examples/workspaces/multi-gpu/llama-3.3-70b-multinode.yaml", "multi-node vLLM: headless Service, Ray"},
	{"llama2-private-multinode", "testdata/llama2-private-multinode.yaml", "family llama2; private image; multi-node transformers"},
	{"gemma3-vllm", "testdata/gemma3-vllm.yaml", "family gemma3"},
	{"gpt-vllm", "testdata/gpt-vllm.yaml", "family gpt"},
	{"adapters", "../examples/workspaces/adapters/phi-3-mini-adapter.yaml", "adapters: image"},
	{"adapters-mixed", "testdata/adapters-mixed.yaml", "adapters: image with pull secret and strength, volume"},
	{"template", "../examples/workspaces/template/custom-server.yaml", "template workspace"},
	{"template-own-scheduling", "testdata/template-own-scheduling.yaml", "template with its own tolerations, affinity and port"},
	{"tuning-urls-image-output", "../examples/workspaces/tuning/phi-3-qlora-urls.yaml", "tuning: url input, image output, qlora defaults"},
	{"tuning-volume-output", "../examples/workspaces/tuning/falcon-7b-lora-volume.yaml", "tuning: volume input and output, own config, companions"},
	{"tuning-image-input", "testdata/tuning-image-input.yaml", "tuning: image input with pull secret, lora defaults"},
	{"byo-preferred-nodes", "../examples/workspaces/byo-nodes/phi-3.5-preferred-nodes.yaml", "bring-your-own nodes, preferredNodes"},
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
