package workspaces

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kaito-sync/kaito-sync/presets"
)

// FuzzValidate builds workspaces field by field, past the decoder, so the validator meets values
// and combinations no YAML file of the seed corpus holds (negative counts, a preset and a template
// at once, empty adapters, tuning without input...). It must not panic, must say something
// well-formed about every problem, and must judge the same workspace the same way twice.
func FuzzValidate(f *testing.F) {
	f.Add("ws", "default", "Standard_NC6s_v3", "phi-3-mini-4k-instruct", 1, "adapter", "x.io/a:1", "0.5", "", "", false, false, "apps", "phi-3")
	f.Add("ws", "team-a", "Standard_NC24ads_A100_v4", "falcon-7b", 2, "", "", "", "vllm", "lora", true, false, "k", "v")
	f.Add("UPPER", "", "", "", -1, "a", "", "1.5", "transformers", "QLoRA", true, true, "", "")
	f.Add("x", "kube-system", "<your-vm-sku>", "llama-3.1-8b-instruct", 0, "a", "ACR_REPO_HERE/a:1", "abc", "nope", "full", false, true, "apps", "")
	cat := presets.Default()
	f.Fuzz(func(t *testing.T, name, ns, sku, preset string, count int, adapter, image, strength, runtime, method string, tuning, template bool, labelKey, labelValue string) {
		ws := &Workspace{
			APIVersion: V1Alpha1, Kind: KindWorkspace,
			Metadata: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{AnnotationRuntime: runtime}},
			Resource: ResourceSpec{Count: &count, InstanceType: sku},
			Source:   Pos{Path: "ws.yaml", Line: 1, Col: 1},
		}
		if labelKey != "" {
			ws.Resource.LabelSelector = &metav1.LabelSelector{MatchLabels: map[string]string{labelKey: labelValue}}
		}
		p := &PresetSpec{Name: preset}
		switch {
		case tuning:
			ws.Tuning = &TuningSpec{Preset: p, Method: method, Input: &DataSource{Name: adapter, Image: image}, Output: &DataDestination{Image: image}}
			if template {
				ws.Inference = &InferenceSpec{Preset: p} // both: refused, never a panic
			}
		default:
			ws.Inference = &InferenceSpec{Preset: p, Adapters: []AdapterSpec{{Source: &DataSource{Name: adapter, Image: image}, Strength: &strength}, {}}}
			if template {
				ws.Inference.Preset = nil // neither preset nor template
			}
		}
		first := Validate(ws, cat)
		for _, pr := range first {
			if pr.Message == "" || (pr.Severity != Error && pr.Severity != Warning) || pr.Path != "ws.yaml" || pr.Line < 1 {
				t.Fatalf("malformed problem: %+v", pr)
			}
		}
		if again := Validate(ws, cat); !slices.Equal(problemStrings(first), problemStrings(again)) {
			t.Fatalf("two verdicts on one workspace:\n%v\n%v", first, again)
		}
	})
}

func problemStrings(ps Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
