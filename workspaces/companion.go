package workspaces

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Companion is an object users keep beside a workspace and that is applied and pruned with it: a
// ConfigMap named by inference.config or tuning.config, a PersistentVolumeClaim used by a volume
// source, or (opted in) a Secret.
type Companion struct {
	Kind      string
	Namespace string
	Name      string
	// Object is *corev1.ConfigMap, *corev1.PersistentVolumeClaim or *corev1.Secret (nil when
	// KaitoDefault).
	Object any
	Source Pos
	// Owners are the keys of the workspaces that reference it, filled by Check.
	Owners []string
	// KaitoDefault marks a ConfigMap the repository does not declare but Kaito would copy into the
	// namespace (DefaultTuningConfig); Object is nil and render writes Kaito's content.
	KaitoDefault bool
	fields       map[string]Pos
}

func newCompanion(kind string, obj any, ns string, at Pos, fields map[string]Pos) *Companion {
	var meta *metav1.ObjectMeta
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		meta = &o.ObjectMeta
	case *corev1.PersistentVolumeClaim:
		meta = &o.ObjectMeta
	case *corev1.Secret:
		meta = &o.ObjectMeta
	}
	meta.Namespace = ns
	return &Companion{Kind: kind, Namespace: ns, Name: meta.Name, Object: obj, Source: at, fields: fields}
}

// Key is "Kind/namespace/name".
func (c *Companion) Key() string { return c.Kind + "/" + c.Namespace + "/" + c.Name }

// Locate returns the place of a field path in the companion's document.
func (c *Companion) Locate(field string) Pos {
	for f := field; f != ""; f = parentField(f) {
		if p, ok := c.fields[f]; ok {
			return p
		}
	}
	return c.Source
}
