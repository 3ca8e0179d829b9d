package workspaces

import (
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
)

// Deep copies for FileCache, which must hand out values that share nothing. They are written out
// rather than done by reflection or a JSON round trip: a round trip loses the unexported position
// index and turns Status's ints into floats, and reflection cannot set unexported fields.
// TestDeepCopySharesNothing fills every field, so a field added without a copy here fails it.

func (w *Workspace) deepCopy() *Workspace {
	out := *w
	w.Metadata.DeepCopyInto(&out.Metadata)
	out.Resource = w.Resource.deepCopy()
	if w.Inference != nil {
		inf := w.Inference.deepCopy()
		out.Inference = &inf
	}
	if w.Tuning != nil {
		t := w.Tuning.deepCopy()
		out.Tuning = &t
	}
	out.Status = copyValue(w.Status)
	out.fields = maps.Clone(w.fields)
	out.placeholders = maps.Clone(w.placeholders)
	return &out
}

func (c *Companion) deepCopy() *Companion {
	out := *c
	if o, ok := c.Object.(runtime.Object); ok {
		out.Object = o.DeepCopyObject()
	}
	out.Owners = slices.Clone(c.Owners)
	out.fields = maps.Clone(c.fields)
	return &out
}

func (r ResourceSpec) deepCopy() ResourceSpec {
	r.Count = copyPtr(r.Count)
	r.LabelSelector = r.LabelSelector.DeepCopy()
	r.PreferredNodes = slices.Clone(r.PreferredNodes)
	if r.Partition != nil {
		p := *r.Partition
		p.Count = copyPtr(p.Count)
		r.Partition = &p
	}
	return r
}

func (in InferenceSpec) deepCopy() InferenceSpec {
	in.Preset = in.Preset.deepCopy()
	in.Template = in.Template.DeepCopy()
	in.Adapters = slices.Clone(in.Adapters)
	for i, a := range in.Adapters {
		in.Adapters[i].Source = a.Source.deepCopy()
		in.Adapters[i].Strength = copyPtr(a.Strength)
	}
	return in
}

func (t TuningSpec) deepCopy() TuningSpec {
	t.Preset = t.Preset.deepCopy()
	t.Input = t.Input.deepCopy()
	if t.Output != nil {
		o := *t.Output
		o.Volume = o.Volume.DeepCopy()
		t.Output = &o
	}
	return t
}

func (p *PresetSpec) deepCopy() *PresetSpec {
	if p == nil {
		return nil
	}
	out := *p
	if p.PresetOptions != nil {
		o := *p.PresetOptions
		o.ImagePullSecrets = slices.Clone(o.ImagePullSecrets)
		out.PresetOptions = &o
	}
	return &out
}

func (d *DataSource) deepCopy() *DataSource {
	if d == nil {
		return nil
	}
	out := *d
	out.URLs = slices.Clone(d.URLs)
	out.ImagePullSecrets = slices.Clone(d.ImagePullSecrets)
	out.Volume = d.Volume.DeepCopy()
	return &out
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// copyValue copies what the decoder puts in an untyped field (toAny): maps, lists and immutable
// scalars.
func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = copyValue(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = copyValue(x)
		}
		return l
	}
	return v
}
