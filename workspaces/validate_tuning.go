package workspaces

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/kaito-sync/kaito-sync/presets"
)

func (v *validator) tuning() {
	t := v.ws.Tuning
	if v.ws.NodeCount() > 1 {
		v.errorf("resource.count", "a tuning job runs on one node: count must be 1, got %d", v.ws.NodeCount())
	}
	if t.Preset == nil {
		v.errorf("tuning.preset", "a preset to fine-tune is required; `kaito-sync presets` shows which support tuning")
	} else if m := v.preset("tuning.preset", t.Preset); m != nil {
		if m.Tuning == nil {
			// Kaito v0.12.0 does not check this: its controller crashes on it (GetTuningParameters
			// returns nil, or panics for mistral-7b).
			v.errorf("tuning.preset.name", "Kaito %s cannot tune %q; `kaito-sync presets` shows which presets it can", presets.KaitoVersion, t.Preset.Name)
		}
		v.fit(m)
	}
	switch t.Method {
	case MethodLoRA, MethodQLoRA:
	case "":
		v.errorf("tuning.method", "a method is required: lora or qlora")
	default:
		v.errorf("tuning.method", "%q is not one of lora, qlora", t.Method)
	}
	if t.Config != "" {
		v.objectName("tuning.config", t.Config)
	}
	if t.Input == nil {
		v.errorf("tuning.input", "input data is required: urls, an image or a volumeSource")
	} else {
		v.dataSource("tuning.input", t.Input)
	}
	if t.Output == nil {
		v.errorf("tuning.output", "an output is required: an image (with imagePushSecret) or a volumeSource")
	} else {
		v.output("tuning.output", t.Output)
	}
}

func (v *validator) dataSource(f string, s *DataSource) {
	n := 0
	if len(s.URLs) > 0 {
		n++
	}
	if s.Image != "" {
		n++
	}
	if s.Volume != nil {
		n++
	}
	if n != 1 {
		v.errorf(f, "set exactly one of urls, image or volumeSource (got %d)", n)
	}
	for i, u := range s.URLs {
		v.check(indexField(f+".urls", i), checkDownloadURL(u))
	}
	if s.Image != "" {
		v.check(f+".image", checkDataImage(s.Image))
	}
	for i, ps := range s.ImagePullSecrets {
		v.objectName(indexField(f+".imagePullSecrets", i), ps)
	}
	if s.Name != "" {
		v.check(f+".name", dnsLabel(s.Name))
	}
}

func (v *validator) output(f string, o *DataDestination) {
	switch {
	case o.Image != "" && o.Volume != nil:
		v.errorf(f, "set either image or volumeSource, not both")
	case o.Image != "":
		v.check(f+".image", checkDataImage(o.Image))
		if o.ImagePushSecret == "" {
			v.errorf(f+".imagePushSecret", "an image output needs imagePushSecret: the Secret with credentials to push %s", o.Image)
		} else {
			v.objectName(f+".imagePushSecret", o.ImagePushSecret)
		}
	case o.Volume == nil:
		v.errorf(f, "set an image (with imagePushSecret) or a volumeSource")
	}
}

// kaitoDataImage is the shape Kaito's webhook demands of adapter, tuning input and tuning output
// images: a repository under a registry or namespace, and a tag ("require full image URL").
var kaitoDataImage = regexp.MustCompile(`^(.+/[^:/]+):([^:/]+)$`)

// checkDataImage is checkImage plus Kaito's stricter rule for data images.
func checkDataImage(s string) string {
	if msg := checkImage(s); msg != "" {
		return msg
	}
	if !kaitoDataImage.MatchString(s) {
		return fmt.Sprintf("%q: Kaito needs a full image reference with a registry and a tag, e.g. myregistry.azurecr.io/adapter-phi3:0.0.1", s)
	}
	return ""
}

// leftoverPlaceholders reports placeholders in fields no rule looked at (env values, template
// commands): they would fail at run time with a far less helpful error.
func (v *validator) leftoverPlaceholders() {
	fields := make([]string, 0, len(v.ws.placeholders))
	for f := range v.ws.placeholders {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		if !v.hasProblem(f) {
			v.errorf(f, "%s", placeholderMessage(placeholder(v.ws.placeholders[f])))
		}
	}
}
