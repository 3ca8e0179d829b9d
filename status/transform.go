package status

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

// keep is what a status reads of one kind's spec. Every object keeps its apiVersion and kind
// (kstatus picks its rules by them), its metadata but managedFields, and its whole status: that
// is where almost everything a status says comes from, and trimming pods' status to the fields
// read saved a tenth of what trimming keeps, not worth a rule that breaks with the next reader.
type keep struct {
	spec []string // spec fields kept; none drops the spec
}

// kept is, per watched kind, everything status computation reads; the rest is dropped before an
// object enters the reporter's cache. The reporter watches every object and pod kaito-sync
// manages, and pod templates, pods' specs and managedFields were most of the memory of a
// process serving 1,000 workspaces (they are most of each object, and nothing here reads them).
//
// The readers: kstatus.Compute (sigs.k8s.io/cli-utils/pkg/kstatus/status: generic.go reads
// metadata.deletionTimestamp, metadata.generation, status.observedGeneration and
// status.conditions of every kind; core.go the per-kind fields noted below) through health, and
// nodeName, podCondition, podTrouble, jobCondition, computer.tuning and computer.endpoint. A field
// a new reader needs must be added here: TestTrimKeepsReports compares whole reports computed
// from full and trimmed objects, so a field dropped that matters fails it.
var kept = map[string]keep{
	// kstatus: spec.replicas, spec.updateStrategy.type (OnDelete is always Current) and
	// spec.updateStrategy.rollingUpdate.partition; status replica counts and revisions.
	// Dropped: spec.template, spec.volumeClaimTemplates, spec.selector...
	"StatefulSet": {spec: []string{"replicas", "updateStrategy"}},
	// kstatus: spec.replicas, spec.progressDeadlineSeconds; status replica counts, conditions.
	"Deployment": {spec: []string{"replicas", "progressDeadlineSeconds"}},
	// kstatus: spec.parallelism, spec.completions (its messages); status counts, startTime and
	// conditions, which jobCondition and computer.tuning read too.
	"Job": {spec: []string{"parallelism", "completions"}},
	// kstatus: spec.type, spec.clusterIP; the endpoint: spec.clusterIP, spec.ports[0].port and
	// status.loadBalancer.ingress.
	"Service": {spec: []string{"type", "clusterIP", "ports"}},
	// kstatus: status.phase. The spec is not read.
	"PersistentVolumeClaim": {},
	// kstatus: always Current. data and binaryData are not read (and are not spec: every field
	// outside apiVersion, kind, metadata, spec and status is dropped).
	"ConfigMap": {},
	// kaito-sync: spec.nodeName (placement, the Nodes column); status.conditions, phase and
	// (init)containerStatuses, read by kstatus and podTrouble. kstatus also reads
	// metadata.creationTimestamp (the unschedulable grace window); the labels pick the workspace.
	"Pod": {spec: []string{"nodeName"}},
}

// trimmer returns the cache transform for the informer of kind. It is given what the informer
// queues: objects as decoded, or tombstones of deletions; anything else passes as it is. It builds
// new maps rather than deleting from the decoded ones, since a Go map does not shrink when keys
// are deleted, and it never modifies its input. It is idempotent, as client-go asks: objects
// streamed by a watch list are transformed again when the informer's store is replaced.
func trimmer(kind string) cache.TransformFunc {
	k, known := kept[kind]
	return func(obj any) (any, error) {
		switch o := obj.(type) {
		case *unstructured.Unstructured:
			return trim(o, k, known), nil
		case cache.DeletedFinalStateUnknown:
			if u, ok := o.Obj.(*unstructured.Unstructured); ok {
				o.Obj = trim(u, k, known)
			}
			return o, nil
		}
		return obj, nil
	}
}

// trim returns the parts of u that k keeps. An unknown kind keeps everything but managedFields.
func trim(u *unstructured.Unstructured, k keep, known bool) *unstructured.Unstructured {
	if u == nil || u.Object == nil {
		return u
	}
	out := make(map[string]any, 5)
	for key, v := range u.Object {
		switch {
		case key == "metadata":
			out[key] = trimMetadata(v)
		case key == "apiVersion", key == "kind", key == "status", !known:
			out[key] = v
		case key == "spec":
			if spec := pick(v, k.spec); spec != nil {
				out[key] = spec
			}
		}
	}
	return &unstructured.Unstructured{Object: out}
}

func trimMetadata(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for key, v := range m {
		if key != "managedFields" {
			out[key] = v
		}
	}
	return out
}

// pick returns the fields of v (a map) named in keys, or nil when it has none of them.
func pick(v any, keys []string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var out map[string]any
	for _, key := range keys {
		if f, ok := m[key]; ok {
			if out == nil {
				out = make(map[string]any, len(keys))
			}
			out[key] = f
		}
	}
	return out
}
