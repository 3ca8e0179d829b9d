package status

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"
)

// liveJSON is testdata/live.yaml as JSON documents, read once.
var liveJSON = sync.OnceValues(func() ([][]byte, error) {
	b, err := os.ReadFile("testdata/live.yaml")
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, doc := range strings.Split(string(b), "\n---\n") {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, err
		}
		if string(j) != "null" { // not the header comment
			out = append(out, j)
		}
	}
	return out, nil
})

// liveObjects are the objects of testdata/live.yaml, as an API server returned them, by
// "Kind/namespace/name". Each call decodes anew, so a test may edit what it gets.
func liveObjects(t testing.TB) map[string]*unstructured.Unstructured {
	t.Helper()
	docs, err := liveJSON()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*unstructured.Unstructured{}
	for _, j := range docs {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatal(err)
		}
		out[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u
	}
	return out
}

func keysOf(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestTrim(t *testing.T) {
	meta := []string{"metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations",
		"metadata.uid", "metadata.resourceVersion", "metadata.creationTimestamp"}
	tests := []struct {
		kind, key string
		edit      func(u *unstructured.Unstructured)
		spec      []string // the spec's fields after trimming, sorted; nil: no spec
		kept      []string // paths equal before and after (metadata above is always checked)
		dropped   []string // paths present before, absent after
	}{
		{
			kind: "StatefulSet", key: "StatefulSet/default/workspace-phi-3-mini",
			edit: func(u *unstructured.Unstructured) {
				_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"metadata": map[string]any{"name": "weights"}}}, "spec", "volumeClaimTemplates")
			},
			spec: []string{"replicas", "updateStrategy"},
			kept: []string{"metadata.generation", "spec.replicas", "spec.updateStrategy.type",
				"spec.updateStrategy.rollingUpdate.partition", "status"},
			dropped: []string{"metadata.managedFields", "spec.template", "spec.volumeClaimTemplates", "spec.selector",
				"spec.serviceName", "spec.podManagementPolicy", "spec.persistentVolumeClaimRetentionPolicy"},
		},
		{
			kind: "Deployment", key: "Deployment/default/workspace-phi-3-mini-deploy",
			spec: []string{"progressDeadlineSeconds", "replicas"},
			kept: []string{"metadata.generation", "spec.replicas", "spec.progressDeadlineSeconds", "status.conditions",
				"status.observedGeneration", "status"},
			dropped: []string{"metadata.managedFields", "spec.template", "spec.strategy", "spec.selector", "spec.revisionHistoryLimit"},
		},
		{
			kind: "Job", key: "Job/tuning/workspace-tuning-falcon-7b",
			spec:    []string{"completions", "parallelism"},
			kept:    []string{"spec.parallelism", "spec.completions", "status.startTime", "status.conditions", "status.succeeded", "status"},
			dropped: []string{"metadata.managedFields", "spec.template", "spec.selector", "spec.backoffLimit", "spec.completionMode"},
		},
		{
			kind: "Service", key: "Service/dev-tools/qwen-coder",
			edit: func(u *unstructured.Unstructured) {
				_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"ip": "20.1.2.3"}}, "status", "loadBalancer", "ingress")
			},
			spec:    []string{"clusterIP", "ports", "type"},
			kept:    []string{"spec.type", "spec.clusterIP", "spec.ports", "status.loadBalancer.ingress"},
			dropped: []string{"metadata.managedFields", "spec.selector", "spec.clusterIPs", "spec.ipFamilies", "spec.externalTrafficPolicy"},
		},
		{
			kind: "PersistentVolumeClaim", key: "PersistentVolumeClaim/tuning/tuning-input",
			kept:    []string{"status.phase", "status"},
			dropped: []string{"metadata.managedFields", "spec"},
		},
		{
			kind: "ConfigMap", key: "ConfigMap/dev-tools/qwen-coder-inference-params",
			edit: func(u *unstructured.Unstructured) {
				u.Object["binaryData"] = map[string]any{"blob": "AAAA"}
				u.Object["immutable"] = false
			},
			dropped: []string{"metadata.managedFields", "data", "binaryData", "immutable"},
		},
		{
			kind: "Pod", key: "Pod/default/workspace-phi-3-mini-0",
			spec: []string{"nodeName"},
			kept: []string{"spec.nodeName", "status.phase", "status.conditions", "status.containerStatuses",
				"metadata.ownerReferences"},
			dropped: []string{"metadata.managedFields", "spec.containers", "spec.volumes", "spec.tolerations", "spec.affinity"},
		},
		{
			kind: "Pod", key: "Pod/adapters/phi-3-adapters-0", // not scheduled: no nodeName, so no spec
			kept:    []string{"status.conditions", "status.phase"},
			dropped: []string{"metadata.managedFields", "spec"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			is := is.New(t)
			full := liveObjects(t)[tt.key]
			is.True(full != nil) // the fixture exists
			if tt.edit != nil {
				tt.edit(full)
			}
			before := full.DeepCopy()
			got, err := trimmer(tt.kind)(full)
			is.NoErr(err)
			trimmed := got.(*unstructured.Unstructured)
			is.Equal(full.Object, before.Object) // the input is left as it was
			is.Equal(trimmed.GetAPIVersion(), full.GetAPIVersion())
			is.Equal(trimmed.GetKind(), full.GetKind())
			is.Equal(keysOf(trimmed.Object["spec"]), tt.spec)
			for _, p := range append(slices.Clone(meta), tt.kept...) {
				want, found, _ := unstructured.NestedFieldNoCopy(full.Object, strings.Split(p, ".")...)
				if !found && slices.Contains(meta, p) {
					continue // metadata the object does not have
				}
				is.True(found) // a kept field the fixture has
				have, found, _ := unstructured.NestedFieldNoCopy(trimmed.Object, strings.Split(p, ".")...)
				if !found || !reflect.DeepEqual(have, want) {
					t.Errorf("%s: kept %v, want %v", p, have, want)
				}
			}
			for _, p := range tt.dropped {
				_, found, _ := unstructured.NestedFieldNoCopy(full.Object, strings.Split(p, ".")...)
				is.True(found) // a dropped field the fixture has
				if _, found, _ := unstructured.NestedFieldNoCopy(trimmed.Object, strings.Split(p, ".")...); found {
					t.Errorf("%s: kept, want dropped", p)
				}
			}
			again, _ := trimmer(tt.kind)(trimmed)
			is.Equal(again.(*unstructured.Unstructured).Object, trimmed.Object) // idempotent
		})
	}
}

func TestTrimInputs(t *testing.T) {
	pod := func() *unstructured.Unstructured { return liveObjects(t)["Pod/default/workspace-phi-3-mini-0"] }
	podTrimmed, _ := trimmer("Pod")(pod())
	tests := []struct {
		name string
		kind string
		in   any
		want any
	}{
		{name: "tombstone of a deletion", kind: "Pod",
			in:   cache.DeletedFinalStateUnknown{Key: "default/workspace-phi-3-mini-0", Obj: pod()},
			want: cache.DeletedFinalStateUnknown{Key: "default/workspace-phi-3-mini-0", Obj: podTrimmed}},
		{name: "tombstone of something else", kind: "Pod",
			in:   cache.DeletedFinalStateUnknown{Key: "a/b", Obj: "?"},
			want: cache.DeletedFinalStateUnknown{Key: "a/b", Obj: "?"}},
		{name: "not unstructured", kind: "Pod", in: "?", want: "?"},
		{name: "nil", kind: "Pod", in: nil, want: nil},
		{name: "empty", kind: "Pod", in: &unstructured.Unstructured{}, want: &unstructured.Unstructured{}},
		{name: "metadata of another shape", kind: "Pod",
			in:   &unstructured.Unstructured{Object: map[string]any{"metadata": "?", "spec": "?"}},
			want: &unstructured.Unstructured{Object: map[string]any{"metadata": "?"}}},
		{name: "a kind with no rule keeps all but managedFields", kind: "Secret",
			in: &unstructured.Unstructured{Object: map[string]any{"kind": "Secret", "data": map[string]any{"k": "dg=="},
				"metadata": map[string]any{"name": "s", "managedFields": []any{}}}},
			want: &unstructured.Unstructured{Object: map[string]any{"kind": "Secret", "data": map[string]any{"k": "dg=="},
				"metadata": map[string]any{"name": "s"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got, err := trimmer(tt.kind)(tt.in)
			is.NoErr(err)
			is.Equal(got, tt.want)
		})
	}
}

func TestReporterSelector(t *testing.T) {
	tests := []struct {
		name       string
		opts       ReporterOptions
		pod, other string
	}{
		{name: "default: every object kaito-sync manages",
			pod: "app.kubernetes.io/managed-by=kaito-sync", other: "app.kubernetes.io/managed-by=kaito-sync"},
		{name: "a root: its objects, and the pods of every root", opts: ReporterOptions{Root: "r1"},
			pod: "app.kubernetes.io/managed-by=kaito-sync", other: "app.kubernetes.io/managed-by=kaito-sync,kaito.sh/sync-root=r1"},
		{name: "a selector of the caller's, and a root", opts: ReporterOptions{Selector: "team=a", Root: "r1"},
			pod: "team=a", other: "team=a,kaito.sh/sync-root=r1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			o := NewReporter(tt.opts).opts
			is.Equal(o.selector("Pod"), tt.pod)
			for kind := range watched {
				if kind != "Pod" {
					is.Equal(o.selector(kind), tt.other)
				}
			}
		})
	}
}
