package workspaces

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Change is one difference between two versions of a workspace.
type Change struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
	// Immutable changes are refused by Kaito on a running workspace: kaito-sync carries them out by
	// deleting and recreating the workload.
	Immutable bool `json:"immutable"`
}

// diffRule names a field Diff compares.
type diffRule struct {
	field     string
	immutable bool
	get       func(*Workspace) any
}

// itemwise fields are lists whose versions of equal length are compared item by item, field by
// field: a strength change reads inference.adapters[0].strength "1.0" → "0.5", not as two lists.
var itemwise = map[string]bool{"inference.adapters": true}

// diffRules follow Kaito's webhook: what it refuses to update is immutable; the rest may change in
// place (adapters, config, template contents). The webhook compares inference.preset as a whole
// (reflect.DeepEqual), so accessMode and presetOptions are as immutable as the name.
var diffRules = []diffRule{
	{"resource.count", true, func(w *Workspace) any { return w.NodeCount() }},
	{"resource.instanceType", true, func(w *Workspace) any { return w.InstanceType() }},
	{"resource.labelSelector", true, func(w *Workspace) any { return selectorLabels(w.Resource.LabelSelector) }},
	{"resource.preferredNodes", false, func(w *Workspace) any { return w.Resource.PreferredNodes }},
	{"resource.partition", true, func(w *Workspace) any { return w.Resource.Partition }},
	{"inference.preset.name", true, func(w *Workspace) any {
		if w.Inference == nil || w.Inference.Preset == nil {
			return nil
		}
		return w.Inference.Preset.Name
	}},
	{"inference.preset", true, func(w *Workspace) any {
		if w.Inference == nil || w.Inference.Preset == nil {
			return nil
		}
		p := *w.Inference.Preset
		p.Name = "" // compared by the rule above
		return p
	}},
	{"inference.template", true, func(w *Workspace) any { return w.Inference != nil && w.Inference.Template != nil }},
	{"inference.template.spec", false, func(w *Workspace) any {
		if w.Inference == nil {
			return nil
		}
		return w.Inference.Template
	}},
	{"inference.config", false, func(w *Workspace) any {
		if w.Inference == nil {
			return nil
		}
		return w.Inference.Config
	}},
	{"inference.adapters", false, func(w *Workspace) any {
		if w.Inference == nil {
			return nil
		}
		return w.Inference.Adapters
	}},
	{"tuning.preset", true, func(w *Workspace) any {
		if w.Tuning == nil {
			return nil
		}
		return w.Tuning.Preset
	}},
	{"tuning.method", true, func(w *Workspace) any {
		if w.Tuning == nil {
			return nil
		}
		return w.Tuning.Method
	}},
	{"tuning.input.name", true, func(w *Workspace) any {
		if w.Tuning == nil || w.Tuning.Input == nil {
			return nil
		}
		return w.Tuning.Input.Name
	}},
	{"tuning.input", false, func(w *Workspace) any {
		if w.Tuning == nil || w.Tuning.Input == nil {
			return nil
		}
		in := *w.Tuning.Input
		in.Name = ""
		return in
	}},
	{"tuning.config", false, func(w *Workspace) any {
		if w.Tuning == nil {
			return nil
		}
		return w.Tuning.Config
	}},
	{"tuning.output", false, func(w *Workspace) any {
		if w.Tuning == nil {
			return nil
		}
		return w.Tuning.Output
	}},
	{"metadata.annotations", false, func(w *Workspace) any { return w.Metadata.Annotations }},
	{"metadata.labels", false, func(w *Workspace) any { return w.Metadata.Labels }},
}

// selectorLabels is a labelSelector as Kaito compares it on update: as the labels it stands for
// (LabelSelectorAsMap), so {apps: phi} and "apps In [phi]" are the same selector. It keeps the shape
// of a matchLabels selector, so that the recreate key of such a workspace does not change; a
// selector Kaito cannot read as labels is compared as written.
func selectorLabels(sel *metav1.LabelSelector) *metav1.LabelSelector {
	labels, err := metav1.LabelSelectorAsMap(sel)
	if err != nil || sel == nil {
		return sel
	}
	return &metav1.LabelSelector{MatchLabels: labels}
}

// Diff lists what changed from old to new, in a fixed order, marking the changes Kaito refuses on a
// running workspace. Switching between inference and tuning shows as immutable changes of the
// preset and template rules.
func Diff(old, new *Workspace) []Change {
	var out []Change
	for _, r := range diffRules {
		a, b := r.get(old), r.get(new)
		if equalValues(a, b) {
			continue
		}
		if itemwise[r.field] {
			if cs := itemChanges(r.field, render(a), render(b)); cs != nil {
				for _, c := range cs {
					c.Immutable = r.immutable
					out = append(out, c)
				}
				continue
			}
		}
		out = append(out, Change{Field: r.field, Old: render(a), New: render(b), Immutable: r.immutable})
	}
	return out
}

// itemChanges compares two JSON lists of the same length item by item and lists each field that
// differs, at its path (field[i].a.b), its values as JSON ("1.0" quoted, as the file writes it;
// "" for a field that is absent). nil when they are not both lists of the same length: the caller
// shows the whole values.
func itemChanges(field, a, b string) []Change {
	var x, y []any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil || len(x) == 0 || len(x) != len(y) {
		return nil
	}
	var out []Change
	for i := range x {
		out = leafChanges(out, fmt.Sprintf("%s[%d]", field, i), x[i], y[i])
	}
	return out
}

func leafChanges(out []Change, at string, a, b any) []Change {
	if reflect.DeepEqual(a, b) {
		return out
	}
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if !okA || !okB {
		return append(out, Change{Field: at, Old: jsonText(a), New: jsonText(b)})
	}
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		out = leafChanges(out, at+"."+k, ma[k], mb[k])
	}
	return out
}

func jsonText(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// HasImmutable reports whether any change needs a recreate.
func HasImmutable(changes []Change) bool {
	for _, c := range changes {
		if c.Immutable {
			return true
		}
	}
	return false
}

// equalValues compares through JSON so that nil and empty (a missing list, an empty list) are the
// same, as they are to Kaito.
func equalValues(a, b any) bool {
	return render(a) == render(b)
}

func render(v any) string {
	if v == nil {
		return ""
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if rv.IsNil() || (rv.Kind() != reflect.Pointer && rv.Len() == 0) {
			return ""
		}
	case reflect.String:
		return rv.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	if s := string(b); s != "{}" && s != "false" {
		return s
	}
	return ""
}

// ImmutableKey fingerprints the fields Kaito refuses to change on a running workspace. Two
// versions of a workspace with different keys need their workload deleted and created again.
func ImmutableKey(ws *Workspace) string {
	h := sha256.New()
	for _, r := range diffRules {
		if r.immutable {
			fmt.Fprintf(h, "%s=%s\n", r.field, render(r.get(ws)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
