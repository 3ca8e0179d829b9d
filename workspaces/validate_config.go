package workspaces

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml2 "go.yaml.in/yaml/v2"
	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/kaito-sync/kaito-sync/presets"
)

// The ConfigMap checks that depend on the workspace: Kaito v0.12.0 reads the ConfigMaps with
// gopkg.in/yaml.v2 (api/v1beta1/inference_config_validation.go, tuning_config_validation.go), so
// these do too, and judge what it refuses. Check has already reported a missing key or a file that
// is not YAML; these then stay silent.

// configText returns the ConfigMap's value of key, if the workspace's ConfigMap is in the repository
// and holds valid YAML under key. root is its YAML tree, for line numbers.
func (v *validator) configText(key string) (text string, root *yaml.Node, ok bool) {
	if v.config == nil {
		return "", nil, false
	}
	cm, isCM := v.config.Object.(*corev1.ConfigMap)
	if !isCM {
		return "", nil, false
	}
	text, ok = cm.Data[key]
	if !ok {
		return "", nil, false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return "", nil, false
	}
	return text, &doc, true
}

// configProblem reports a problem of the workspace found in its ConfigMap: on line (1-based) of the
// value of key, which is a block scalar starting on the line after the key, or on the key itself
// when line is 0.
func (v *validator) configProblem(sev Severity, key string, line int, format string, args ...any) {
	field := childField("data", key)
	at := v.config.Locate(field)
	if line > 0 {
		at.Line, at.Col = at.Line+line, 1
	}
	v.problems = append(v.problems, Problem{Severity: sev, Path: at.Path, Line: at.Line, Col: at.Col,
		Workspace: v.key(), Field: field, Message: fmt.Sprintf(format, args...)})
}

// keyLine is the line (1-based) of the deepest key of keys found in the mapping tree under doc, 0
// when not even the first is there.
func keyLine(doc *yaml.Node, keys ...string) int {
	n := resolve(doc)
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = resolve(n.Content[0])
	}
	line := 0
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if resolve(n.Content[i]).Value == k {
				line, next = n.Content[i].Line, resolve(n.Content[i+1])
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

// maxModelLen is the context length Kaito's controller gives its node estimator: the first
// "max-model-len:" line inside the "vllm:" block of the workspace's inference_config.yaml when it
// is a positive integer (pkg/utils/config_parser.go, ParseExplicitMaxModelLen), else 0 (the
// estimator's DefaultMaxModelLen).
func (v *validator) maxModelLen() int {
	if v.ws.Inference == nil || v.ws.Inference.Config == "" {
		return 0
	}
	text, _, ok := v.configText(InferenceConfigKey)
	if !ok {
		return 0
	}
	return ExplicitMaxModelLen(text)
}

// ExplicitMaxModelLen is the max-model-len Kaito's controller gives its node estimator, read line by
// line from an inference_config.yaml as it does (not as YAML); 0 when there is none.
func ExplicitMaxModelLen(content string) int {
	inVLLM, base := false, ""
	for _, l := range strings.Split(content, "\n") {
		trim := strings.TrimSpace(l)
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if !inVLLM {
			if strings.HasPrefix(trim, "vllm:") {
				inVLLM, base = true, indent+"  "
			}
			continue
		}
		if trim != "" && !strings.HasPrefix(trim, "#") && len(indent) < len(base) {
			break
		}
		if strings.HasPrefix(trim, "max-model-len:") {
			if n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(trim, "max-model-len:"))); err == nil && n > 0 {
				return n
			}
			break
		}
	}
	return 0
}

// yaml2TypeError is one entry of a yaml.v2 *TypeError: "line 3: cannot unmarshal !!seq into string".
var yaml2TypeError = regexp.MustCompile(`^line (\d+): cannot unmarshal !!(\w+)(?: .*)? into (.+)$`)

// inferenceConfig checks inference_config.yaml as Kaito v0.12.0 does for vLLM workspaces
// (validateInferenceConfig; the transformers runtime skips it): the file is read into
// {vllm: map[string]string}, so each vllm: setting must be a single value, and max-model-len must be
// a whole number within the model's context window. m is nil for a template or a preset that does
// not resolve: then the runtime is the annotation's.
func (v *validator) inferenceConfig(m *presets.Model) {
	runtime := v.runtime
	if m == nil {
		runtime = presets.RuntimeVLLM
		if ann, _ := v.annotation(AnnotationRuntime); ann == string(presets.RuntimeTransformers) {
			runtime = presets.RuntimeTransformers
		}
	}
	if v.ws.Inference.Config == "" || runtime != presets.RuntimeVLLM {
		return
	}
	const key = InferenceConfigKey
	text, root, ok := v.configText(key)
	if !ok {
		return
	}
	var cfg struct {
		VLLM map[string]string `yaml:"vllm"`
	}
	if err := yaml2.Unmarshal([]byte(text), &cfg); err != nil {
		te, isType := err.(*yaml2.TypeError)
		if !isType {
			v.configProblem(Error, key, 0, "Kaito cannot read %s: %v", key, err)
			return
		}
		for _, e := range te.Errors {
			mm := yaml2TypeError.FindStringSubmatch(e)
			if mm == nil {
				v.configProblem(Error, key, 0, "Kaito cannot read %s: %s", key, e)
				continue
			}
			line, _ := strconv.Atoi(mm[1])
			kind := map[string]string{"seq": "a list", "map": "a map", "str": "a string", "int": "a number", "float": "a number", "bool": "a boolean"}[mm[2]]
			if kind == "" {
				kind = "!!" + mm[2]
			}
			switch into := mm[3]; {
			case into == "string":
				v.configProblem(Error, key, line, "Kaito reads each vllm: setting as a single value (flag: value) and refuses %s here: write it as one string, e.g. in quotes", kind)
			case strings.HasPrefix(into, "map["):
				v.configProblem(Error, key, line, "vllm: must be a map of vLLM settings (flag: value), not %s", kind)
			default:
				v.configProblem(Error, key, line, "%s must be a mapping with a vllm: map of settings, not %s", key, kind)
			}
		}
		return
	}
	if keyLine(root, "vllm") == 0 {
		v.configProblem(Warning, key, 0, "%s has no vllm: map, so Kaito passes vLLM no settings from it: put the engine arguments under vllm:", key)
		return
	}
	raw, set := cfg.VLLM["max-model-len"]
	if !set || strings.TrimSpace(raw) == "" || m == nil || m.TokenLimit <= 0 {
		return
	}
	line := keyLine(root, "vllm", "max-model-len")
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	switch {
	case err != nil:
		v.configProblem(Error, key, line, "max-model-len %q must be a whole number of tokens (Kaito refuses anything else, \"auto\" too): write one up to %d, %s's context window, or remove it to let vLLM size the context",
			raw, m.TokenLimit, m.Name)
	case n > m.TokenLimit:
		v.configProblem(Error, key, line, "max-model-len %d exceeds %s's context window of %d tokens: lower it to %d or less",
			n, m.Name, m.TokenLimit, m.TokenLimit)
	}
}

// trainingSections are the sections Kaito v0.12.0 knows in training_config (TrainingConfig).
var trainingSections = []string{"ModelConfig", "QuantizationConfig", "LoraConfig", "TrainingArguments", "DatasetConfig", "DataCollator"}

// tuningConfig checks training_config.yaml as Kaito v0.12.0 does (validateTuningConfigMapSchema,
// validateMethodViaConfigMap, validateTrainingArgsViaConfigMap): known sections only, quantization
// that matches the method, and an output_dir under /mnt.
func (v *validator) tuningConfig() {
	const key = TuningConfigKey
	text, root, ok := v.configText(key)
	if !ok {
		return
	}
	var raw map[string]any
	if err := yaml2.Unmarshal([]byte(text), &raw); err != nil {
		return // not a mapping: Check has said that it needs a training_config: map
	}
	tc, ok := raw["training_config"].(map[any]any)
	if !ok {
		return
	}
	for k := range tc {
		s, isString := k.(string)
		switch {
		case !isString:
			v.configProblem(Error, key, keyLine(root, "training_config"), "training_config has a section named %v: section names are strings, one of %s", k, strings.Join(trainingSections, ", "))
		case !slices.Contains(trainingSections, s):
			hint := ""
			if guess := closest(s, trainingSections); guess != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", guess)
			}
			v.configProblem(Error, key, keyLine(root, "training_config", s), "Kaito does not know the section %q%s: use %s", s, hint, strings.Join(trainingSections, ", "))
		}
	}

	method := v.ws.Tuning.Method
	if q, present := tc["QuantizationConfig"]; present {
		line := keyLine(root, "training_config", "QuantizationConfig")
		qm, isMap := section(q)
		if !isMap {
			v.configProblem(Error, key, line, "QuantizationConfig must be a map of settings")
		} else {
			bits := map[string]bool{}
			for _, name := range []string{"load_in_4bit", "load_in_8bit"} {
				switch b := qm[name].(type) {
				case nil:
				case bool:
					bits[name] = b
				default:
					v.configProblem(Error, key, keyLine(root, "training_config", "QuantizationConfig", name), "%s must be true, false or null, not %q", name, fmt.Sprint(b))
				}
			}
			switch four, eight := bits["load_in_4bit"], bits["load_in_8bit"]; {
			case four && eight:
				v.configProblem(Error, key, line, "load_in_4bit and load_in_8bit cannot both be true: pick one")
			case method == MethodLoRA && (four || eight):
				v.configProblem(Error, key, line, "method lora loads the model unquantized: set load_in_4bit and load_in_8bit to false, or use method qlora")
			case method == MethodQLoRA && !four && !eight:
				v.configProblem(Error, key, line, "method qlora needs load_in_4bit or load_in_8bit set to true in QuantizationConfig")
			}
		}
	} else if method == MethodQLoRA {
		v.configProblem(Error, key, keyLine(root, "training_config"), "method qlora needs a QuantizationConfig section with load_in_4bit or load_in_8bit set to true")
	}

	if ta, present := tc["TrainingArguments"]; present {
		line := keyLine(root, "training_config", "TrainingArguments")
		tm, isMap := section(ta)
		if !isMap {
			v.configProblem(Error, key, line, "TrainingArguments must be a map of settings")
			return
		}
		dir, found := tm["output_dir"]
		if !found {
			return
		}
		line = keyLine(root, "training_config", "TrainingArguments", "output_dir")
		s, isString := dir.(string)
		if !isString {
			v.configProblem(Error, key, line, "output_dir must be a string: a directory under /mnt, e.g. /mnt/results")
			return
		}
		// Kaito joins it to /mnt and wants a directory strictly inside.
		if clean := path.Clean(path.Join("/mnt", s)); clean == "/mnt" || !strings.HasPrefix(clean, "/mnt") {
			v.configProblem(Error, key, line, "output_dir %q is not a directory under /mnt: write one such as /mnt/results", s)
		}
	}
}

// section reads a training_config section as Kaito does (marshalled and read back into
// map[string]interface{}): null is an empty map; anything but a map is not one.
func section(x any) (map[string]any, bool) {
	switch s := x.(type) {
	case nil:
		return map[string]any{}, true
	case map[any]any:
		out := make(map[string]any, len(s))
		for k, val := range s {
			out[fmt.Sprint(k)] = val
		}
		return out, true
	}
	return nil, false
}
