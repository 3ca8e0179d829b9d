package render

import (
	"bytes"
	"embed"
	"fmt"
	"sync"
	"text/template"

	"github.com/kaito-sync/kaito-sync/presets"
)

//go:embed bases
var basesFS embed.FS

var baseTemplates = template.Must(template.ParseFS(basesFS, "bases/*.tmpl"))

// Kinds of bases.
const (
	kindInference = "inference"
	kindTemplate  = "template"
	kindTuning    = "tuning"
)

// Names of the base objects that workspace overlays rename.
const (
	baseInferenceName = "inference"
	baseTuningName    = "tuning"
)

// The commands of each runtime, held by the bases. The overlay adds the flags.
var runtimeCommand = map[presets.Runtime][]string{
	presets.RuntimeVLLM: {"python3", "/workspace/vllm/inference_api.py"},
	presets.RuntimeTransformers: {"accelerate", "launch", "--num_processes=1", "--num_machines=1", "--machine_rank=0",
		"--gpu_ids=all", "/workspace/tfs/inference_api.py"},
}

// base is one shared Kustomize base: the pod shape of a preset family on a runtime (inference),
// of a family's tuning job, or of template workspaces.
type base struct {
	kind    string
	family  string
	runtime presets.Runtime
}

// Dir is the base's folder under bases/. The names contain dots, which a Kubernetes namespace
// cannot, so bases/<base> never collides with the overlay of a workspace in a namespace "bases".
func (b base) Dir() string {
	switch b.kind {
	case kindInference:
		return fmt.Sprintf("inference.%s.%s", b.family, b.runtime)
	case kindTuning:
		return "tuning." + b.family
	}
	return "inference.template"
}

// image is the placeholder image the base uses and the overlay replaces with the preset's.
func (b base) image() string { return "kaito-" + b.family }

var baseFiles sync.Map // base dir → map[string][]byte

// files returns the base's files, named relative to its folder. They depend only on the base.
func (b base) files() (map[string][]byte, error) {
	if f, ok := baseFiles.Load(b.Dir()); ok {
		return f.(map[string][]byte), nil
	}
	type res struct{ file, tmpl string }
	var title string
	var resources []res
	switch b.kind {
	case kindInference:
		title = fmt.Sprintf("Base for %s models served by %s.", b.family, b.runtime)
		resources = []res{{"statefulset.yaml", "inference-statefulset.yaml.tmpl"}, {"service.yaml", "inference-service.yaml.tmpl"}}
	case kindTuning:
		title = fmt.Sprintf("Base for tuning %s models.", b.family)
		resources = []res{{"job.yaml", "tuning-job.yaml.tmpl"}}
	default:
		title = "Base for template workspaces: the user's own pod, served on port 80."
		resources = []res{{"statefulset.yaml", "template-statefulset.yaml.tmpl"}, {"service.yaml", "inference-service.yaml.tmpl"}}
	}
	data := map[string]any{"Title": title, "Family": b.family, "Command": runtimeCommand[b.runtime]}
	out := map[string][]byte{}
	var names []string
	for _, r := range resources {
		var buf bytes.Buffer
		if err := baseTemplates.ExecuteTemplate(&buf, r.tmpl, data); err != nil {
			return nil, err
		}
		out[r.file] = buf.Bytes()
		names = append(names, r.file)
	}
	data["Resources"] = names
	var buf bytes.Buffer
	if err := baseTemplates.ExecuteTemplate(&buf, "kustomization.yaml.tmpl", data); err != nil {
		return nil, err
	}
	out["kustomization.yaml"] = buf.Bytes()
	baseFiles.Store(b.Dir(), out)
	return out, nil
}

// Default tuning configs, per method, used when a workspace sets no tuning.config.
func defaultTuningConfig(method string) ([]byte, error) {
	return basesFS.ReadFile("bases/tuning-" + method + ".yaml")
}
