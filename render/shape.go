package render

import (
	"bytes"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kaito-sync/kaito-sync/workspaces"
)

// A fleet is mostly the same few workspaces under many names: krusty costs ~15 ms per build, a
// renamed copy of a built result well under 1 ms. So the objects krusty builds are cached by the
// workspace's shape (the input with its name and namespace replaced by sentinels) and a workspace
// whose shape was built gets that build with the sentinels replaced by its own name and namespace.
//
// That is exact because rendering treats the name and namespace as opaque strings: they are copied
// and concatenated into names, labels, selectors and host names, never hashed, cut or parsed. The
// exceptions are guarded: an input that holds a sentinel already is built directly, and so is a
// shape whose output order could depend on the name (see orderSafe). TestShapeMatchesDirectBuild
// renders every golden input under many names both ways and compares them.
const (
	shapeName      = "kaitosyncshapename"
	shapeNamespace = "kaitosyncshapens"
	shapePrefix    = "kaitosyncshape" // both start with it
)

// shape returns the input with the sentinel name and namespace, or nil when the input cannot be
// shaped (it holds a sentinel itself).
func (in *input) shape(material []byte) *input {
	if bytes.Contains(material, []byte(shapeName)) || bytes.Contains(material, []byte(shapeNamespace)) {
		return nil
	}
	key := in.ws.Key()
	ref := refRenamer(in.ws.Metadata.Name)
	ws := renameRefs(in.ws, ref)
	ws.Metadata = *in.ws.Metadata.DeepCopy()
	ws.Metadata.Name, ws.Metadata.Namespace = shapeName, shapeNamespace
	out := *in
	out.ws = ws
	out.byRef = map[string]*workspaces.Companion{}
	out.companions = nil
	for _, c := range in.companions {
		cc := *c
		cc.Namespace = shapeNamespace
		if c.Kind == "ConfigMap" || c.Kind == "PersistentVolumeClaim" {
			cc.Name = ref(c.Name)
		}
		cc.Owners = make([]string, len(c.Owners))
		for i, o := range c.Owners {
			if o == key {
				o = shapeNamespace + "/" + shapeName
			}
			cc.Owners[i] = o
		}
		if obj, ok := c.Object.(runtime.Object); ok {
			cp := obj.DeepCopyObject()
			if m, ok := cp.(interface {
				SetNamespace(string)
				SetName(string)
			}); ok {
				m.SetNamespace(shapeNamespace)
				m.SetName(cc.Name)
			}
			cc.Object = cp
		}
		out.companions = append(out.companions, &cc)
		out.byRef[cc.Kind+"/"+cc.Name] = &cc
	}
	slices.SortFunc(out.companions, func(a, b *workspaces.Companion) int { return strings.Compare(a.Key(), b.Key()) })
	return &out
}

// refRenamer renames what a fleet names after its workspace ("<name>-params", "<name>-input"):
// the name itself, or name + "-" + suffix, becomes the sentinel (+ suffix); anything else is kept.
// Only ConfigMaps and PersistentVolumeClaims, and the fields that reference them, are renamed:
// render looks them up by these names and copies the names as they are, so renaming both sides
// and the output back is exact (TestShapeCompanionsNamedAfterWorkspace).
func refRenamer(name string) func(string) string {
	return func(n string) string {
		if n == name {
			return shapeName
		}
		if rest, ok := strings.CutPrefix(n, name+"-"); ok {
			return shapeName + "-" + rest
		}
		return n
	}
}

// renameRefs returns a copy of ws whose references to ConfigMaps and PersistentVolumeClaims
// (the fields workspaces.References reads) are renamed; what it copies is never shared with ws.
func renameRefs(in *workspaces.Workspace, ref func(string) string) *workspaces.Workspace {
	ws := *in
	claim := func(v *corev1.VolumeSource) *corev1.VolumeSource {
		if v == nil || v.PersistentVolumeClaim == nil {
			return v
		}
		c := v.DeepCopy()
		c.PersistentVolumeClaim.ClaimName = ref(c.PersistentVolumeClaim.ClaimName)
		return c
	}
	if in.Inference != nil {
		inf := *in.Inference
		inf.Config = ref(inf.Config)
		inf.Adapters = slices.Clone(inf.Adapters)
		for i, a := range inf.Adapters {
			if a.Source != nil {
				src := *a.Source
				src.Volume = claim(src.Volume)
				inf.Adapters[i].Source = &src
			}
		}
		if inf.Template != nil {
			inf.Template = inf.Template.DeepCopy()
			for i := range inf.Template.Spec.Volumes {
				v := &inf.Template.Spec.Volumes[i].VolumeSource
				if v.PersistentVolumeClaim != nil {
					v.PersistentVolumeClaim.ClaimName = ref(v.PersistentVolumeClaim.ClaimName)
				}
			}
		}
		ws.Inference = &inf
	}
	if in.Tuning != nil {
		t := *in.Tuning
		t.Config = ref(t.Config)
		if t.Input != nil {
			src := *t.Input
			src.Volume = claim(src.Volume)
			t.Input = &src
		}
		if t.Output != nil {
			dst := *t.Output
			dst.Volume = claim(dst.Volume)
			t.Output = &dst
		}
		ws.Tuning = &t
	}
	return &ws
}

// orderSafe reports whether renaming keeps the objects in the order krusty sorts them (kind, then
// id): within a kind, the names either all start with the sentinel (their order is that of what
// follows it) or none holds it (they do not change).
func orderSafe(objs []*unstructured.Unstructured) bool {
	type seen struct{ with, without int }
	byKind := map[string]*seen{}
	for _, o := range objs {
		s := byKind[o.GetKind()]
		if s == nil {
			s = &seen{}
			byKind[o.GetKind()] = s
		}
		switch name := o.GetName(); {
		case strings.HasPrefix(name, shapeName):
			s.with++
		case strings.Contains(name, shapeName):
			return false
		default:
			s.without++
		}
	}
	for _, s := range byKind {
		if s.with > 0 && s.without > 0 {
			return false
		}
	}
	return true
}

// rename returns deep copies of objs with the sentinels replaced by name and namespace, in every
// string and map key. strings.Replacer makes one pass, so a replacement is never replaced again.
func rename(objs []*unstructured.Unstructured, name, namespace string) []*unstructured.Unstructured {
	r := strings.NewReplacer(shapeName, name, shapeNamespace, namespace)
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = &unstructured.Unstructured{Object: renameValue(r, o.Object).(map[string]any)}
	}
	return out
}

func renameValue(r *strings.Replacer, v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			if strings.Contains(k, shapePrefix) {
				k = r.Replace(k)
			}
			m[k] = renameValue(r, x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = renameValue(r, x)
		}
		return l
	case string:
		if !strings.Contains(t, shapePrefix) { // nearly every string: skip the replacer
			return t
		}
		return r.Replace(t)
	default: // int64, float64, bool, nil: immutable
		return t
	}
}
