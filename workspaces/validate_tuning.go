package workspaces

import (
	"slices"

	"github.com/kaito-sync/kaito-sync/presets"
)

func (v *validator) tuning() {
	t := v.ws.Tuning
	if v.ws.NodeCount() > 1 {
		v.errorf("resource.count", "a tuning job runs on one node: count must be 1, got %d", v.ws.NodeCount())
	}
	if v.ws.Resource.Partition != nil {
		v.errorf("resource.partition", "GPU partitioning is not supported for tuning: remove partition")
	}
	// Kaito checks no instanceType for tuning; kaito-sync needs to know the GPUs to run the job.
	v.instanceType()
	if t.Preset == nil {
		v.errorf("tuning.preset", "a preset to fine-tune is required; `kaito-sync presets` shows which support tuning")
	} else if m := v.preset("tuning.preset", t.Preset); m != nil {
		if m.Tuning == nil {
			// Kaito v0.12.0 does not check this: its controller crashes on it (GetTuningParameters
			// returns nil, or panics for mistral-7b), and no operator reports it.
			v.errorf("tuning.preset.name", "Kaito %s cannot tune %q; `kaito-sync presets` shows which presets it can", presets.KaitoVersion, t.Preset.Name)
		}
		v.tuningFit(m)
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
		v.tuningConfig()
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

// tuningFit warns when the model is unlikely to fit one node of the SKU: Kaito sizes no tuning job,
// so this is kaito-sync's estimate, not a rule.
func (v *validator) tuningFit(m *presets.Model) {
	if v.sku == nil {
		return
	}
	model := *m
	model.MultiNode = false // a tuning job runs on one node
	f := v.cat.Fit(model, *v.sku, 1, 0)
	if f.Fits || f.Method != presets.MethodEstimated {
		return
	}
	v.warnf("resource.instanceType", "%s%s (Kaito does not check this for tuning: the job may run out of GPU memory)",
		f.Reason, v.skusThatFit(&model, presets.RuntimeVLLM))
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
		v.value(indexField(f+".urls", i), u, downloadURLProblem(u))
	}
	if s.Image != "" {
		v.image(f+".image", s.Image, true, Error)
	}
	for i, ps := range s.ImagePullSecrets {
		v.objectName(indexField(f+".imagePullSecrets", i), ps)
	}
	if s.Name != "" {
		// Kaito does not check it at create (it only keeps it from changing); render does not use it.
		if msg := dnsLabel(s.Name); msg != "" {
			v.warnf(f+".name", "%s", msg)
		}
	}
}

func (v *validator) output(f string, o *DataDestination) {
	switch {
	case o.Image != "" && o.Volume != nil:
		v.errorf(f, "set either image or volumeSource, not both")
	case o.Image != "":
		v.image(f+".image", o.Image, true, Error)
		if o.ImagePushSecret == "" {
			v.errorf(f+".imagePushSecret", "an image output needs imagePushSecret: the Secret with credentials to push %s", o.Image)
		} else {
			v.objectName(f+".imagePushSecret", o.ImagePushSecret)
		}
	case o.Volume == nil:
		v.errorf(f, "set an image (with imagePushSecret) or a volumeSource")
	}
}

// leftoverPlaceholders reports placeholders in fields no rule looked at (env values, template
// commands): Kaito accepts them, and they fail at run time with a far less helpful error.
func (v *validator) leftoverPlaceholders() {
	fields := make([]string, 0, len(v.ws.placeholders))
	for f := range v.ws.placeholders {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		if !v.hasProblem(f) {
			v.warnf(f, "%s", placeholderMessage(placeholder(v.ws.placeholders[f])))
		}
	}
}
