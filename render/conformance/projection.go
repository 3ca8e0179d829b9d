// Package conformance compares the objects kaito-sync renders for a Workspace with the objects
// Kaito's operator creates for it (render/testdata/conformance). Comparing the YAML would fail on
// what does not change the running workload (labels, owner references, the order of a map Kaito
// iterates), so both sides are reduced to a Projection of what does, as the cases' README defines
// it, and Diff lists where the projections differ.
package conformance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Key names one object.
type Key struct{ Kind, Namespace, Name string }

func (k Key) String() string { return k.Kind + "/" + k.Namespace + "/" + k.Name }

// Fields maps the path of a compared field ("container main: env HF_TOKEN") to its value in a
// canonical form: defaults filled in, sets sorted, so that equal behaviour is an equal string.
// A field left unset with no default is absent.
type Fields map[string]string

// Projection is what the conformance check compares: the compared fields of every object.
type Projection map[Key]Fields

// Project reduces objects to their Projection. It fails on two objects of one kind and name and
// on objects that do not convert to their Kubernetes type.
func Project(objs []*unstructured.Unstructured) (Projection, error) {
	p := Projection{}
	for _, u := range objs {
		k := Key{u.GetKind(), u.GetNamespace(), u.GetName()}
		if _, dup := p[k]; dup {
			return nil, fmt.Errorf("%s: listed twice", k)
		}
		f, err := projectObject(u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		p[k] = f
	}
	return p, nil
}

func projectObject(u *unstructured.Unstructured) (Fields, error) {
	f := Fields{}
	w := writer{f: f}
	var err error
	switch u.GroupVersionKind().GroupKind() {
	case schema.GroupKind{Kind: "Service"}:
		err = typed(u, func(s *corev1.Service) error { projectService(w, s); return nil })
	case schema.GroupKind{Kind: "ConfigMap"}:
		err = typed(u, func(c *corev1.ConfigMap) error { projectConfigMap(w, c); return nil })
	case schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		err = typed(u, func(s *appsv1.StatefulSet) error { return projectStatefulSet(w, s) })
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}:
		err = typed(u, func(d *appsv1.Deployment) error { return projectDeployment(w, d) })
	case schema.GroupKind{Group: "batch", Kind: "Job"}:
		err = typed(u, func(j *batchv1.Job) error { return projectJob(w, j) })
	default:
		projectOther(w, u)
	}
	return f, err
}

// typed converts u to its Kubernetes type T and hands it to project: typed structs give
// quantities, int-or-strings and defaults their meaning, which raw maps do not.
func typed[T any](u *unstructured.Unstructured, project func(*T) error) error {
	var obj T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &obj); err != nil {
		return err
	}
	return project(&obj)
}

// projectOther covers kinds Kaito does not create (companions such as a PVC, when both sides
// have them): their spec and data, whole.
func projectOther(w writer, u *unstructured.Unstructured) {
	for _, field := range []string{"spec", "data"} {
		if v, ok := u.Object[field]; ok {
			w.set(field, compact(v))
		}
	}
}

func projectService(w writer, s *corev1.Service) {
	w.set("type", string(or(s.Spec.Type, corev1.ServiceTypeClusterIP)))
	w.set("headless", strconv.FormatBool(s.Spec.ClusterIP == corev1.ClusterIPNone))
	var ports []string
	for _, p := range s.Spec.Ports {
		target := p.TargetPort.String()
		if p.TargetPort == (intstr.IntOrString{}) {
			target = strconv.Itoa(int(p.Port)) // the API server defaults targetPort to port
		}
		ports = append(ports, fmt.Sprintf("%s %d:%s/%s", p.Name, p.Port, target, or(p.Protocol, corev1.ProtocolTCP)))
	}
	w.set("ports", set(ports))
	w.set("selector", labels(s.Spec.Selector))
	w.set("publishNotReadyAddresses", strconv.FormatBool(s.Spec.PublishNotReadyAddresses))
}

func projectConfigMap(w writer, c *corev1.ConfigMap) {
	for k, v := range c.Data {
		w.set("data "+k, v)
	}
	for k, v := range c.BinaryData {
		w.set("binaryData "+k, base64.StdEncoding.EncodeToString(v))
	}
}

// writer puts fields under a common path prefix ("container main: ").
type writer struct {
	f      Fields
	prefix string
}

func (w writer) set(path, value string) { w.f[w.prefix+path] = value }

func (w writer) sub(path string) writer { return writer{w.f, w.prefix + path + ": "} }

// or is v, or def when v is its type's zero value: Kubernetes' defaulting, so that "unset" and
// "set to the default" compare equal.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// orPtr is *p, or def when p is nil.
func orPtr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// set is a list whose order means nothing, written sorted.
func set(items []string) string {
	s := slices.Clone(items)
	slices.Sort(s)
	return list(s)
}

// list is an ordered list of words, written as a JSON array so that words holding blanks or
// commas stay unambiguous (and Diff can tell which words differ).
func list(items []string) string {
	if items == nil {
		items = []string{}
	}
	return compact(items)
}

// labels is a label map as a set of key=value.
func labels(m map[string]string) string {
	var s []string
	for k, v := range m {
		s = append(s, k+"="+v)
	}
	return set(s)
}

// compact is v as compact JSON (map keys sorted), for structures compared whole. "&&" stays
// "&&", not "\u0026\u0026": these strings are read by people.
func compact(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
