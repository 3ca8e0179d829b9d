package render

import (
	"strings"
	"testing"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// renamed is l under another name and namespace, companions and owners following.
func renamed(l loaded, name, ns string) loaded {
	old := l.ws.Key()
	ws := *l.ws
	ws.Metadata = *l.ws.Metadata.DeepCopy()
	ws.Metadata.Name, ws.Metadata.Namespace = name, ns
	var comps []*workspaces.Companion
	for _, c := range l.companions {
		cc := *c
		cc.Namespace = ns
		cc.Owners = nil
		for _, o := range c.Owners {
			if o == old {
				o = ws.Key()
			}
			cc.Owners = append(cc.Owners, o)
		}
		comps = append(comps, &cc)
	}
	return loaded{&ws, comps}
}

// directBuild is what Render gave before shapes: krusty over the workspace's own overlay.
func directBuild(t *testing.T, l loaded, src Source) string {
	t.Helper()
	in, err := newInput(presets.Default(), KaitoDefaults, l.ws, l.companions)
	if err != nil {
		t.Fatal(err)
	}
	e, err := in.plan()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.build(src); err != nil {
		t.Fatal(err)
	}
	res, err := e.result(l.ws.Key(), src, true)
	if err != nil {
		t.Fatal(err)
	}
	return objectsYAML(t, res)
}

// Renamed copies of a shape's build are byte for byte what krusty builds from each workspace's own
// overlay: every golden input, under names and namespaces chosen to trip a text substitution.
func TestShapeMatchesDirectBuild(t *testing.T) {
	names := []struct{ name, ns string }{
		{"a", "b"},
		{"inference", "default"},
		{"team", "team"},
		{"ws-ns", "ns"},
		{"x" + strings.Repeat("y", 61) + "z", "long-namespace-" + strings.Repeat("n", 40)},
		{"kaitosync", "shape"},
	}
	r := New(presets.Default()) // shared: the first name builds the shape, the others rename it
	src := Source{Path: "fleet/ws.yaml", Commit: testCommit}
	for _, tc := range goldenCases {
		for _, l := range load(t, tc.input) {
			for _, n := range names {
				rl := renamed(l, n.name, n.ns)
				got, err := r.Render(rl.ws, rl.companions, src)
				if err != nil {
					t.Fatalf("%s as %s/%s: %v", tc.name, n.ns, n.name, err)
				}
				if want := directBuild(t, rl, src); objectsYAML(t, got) != want {
					t.Errorf("%s as %s/%s: renamed shape differs from a direct build:\n%s\nwant:\n%s", tc.name, n.ns, n.name, objectsYAML(t, got), want)
				}
			}
		}
	}
	// Each golden input is one shape; a build per shape, not per name.
	if b, n := r.builds.Load(), int64(len(goldenCases)); b > n+2 { // +2: files with two workspaces
		t.Errorf("%d krusty builds for %d shapes", b, n)
	}
}

// A workspace holding a sentinel is built directly, and right.
func TestShapeSentinelInInput(t *testing.T) {
	is := is.New(t)
	l := loadYAML(t, strings.ReplaceAll(phi3Mini, "name: chat", "name: "+shapeName))[0]
	r := New(presets.Default())
	res, err := r.Render(l.ws, nil, Source{})
	is.NoErr(err)
	is.Equal(r.shapeLRU.Len(), 0) // not shaped
	is.Equal(objectsYAML(t, res), directBuild(t, l, Source{}))
}

// krusty renames a base object to an all-digit name as a YAML integer ("name: 123"), which the API
// server refuses; the renamed shape keeps it a string.
func TestNumericNameStaysString(t *testing.T) {
	is := is.New(t)
	l := renamed(loadYAML(t, phi3Mini)[0], "123", "456")
	res, err := New(presets.Default()).Render(l.ws, nil, Source{})
	is.NoErr(err)
	for _, o := range res.Objects {
		name := o.Object["metadata"].(map[string]any)["name"]
		is.True(name == "123" || name == "123-headless") // a string, never the integer 123
		is.Equal(o.GetNamespace(), "456")
	}
}

func TestOrderSafe(t *testing.T) {
	is := is.New(t)
	obj := func(kind, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetKind(kind)
		u.SetName(name)
		return u
	}
	is.True(orderSafe([]*unstructured.Unstructured{obj("Service", shapeName), obj("Service", shapeName+"-headless"), obj("ConfigMap", "user")}))
	is.True(!orderSafe([]*unstructured.Unstructured{obj("ConfigMap", shapeName+"-config"), obj("ConfigMap", "user")}))
	is.True(!orderSafe([]*unstructured.Unstructured{obj("ConfigMap", "x-"+shapeName)}))
}

// Adding an adapter to a workspace that was rendered without one renders the adapter.
func TestShapeAdapterAdded(t *testing.T) {
	is := is.New(t)
	r := New(presets.Default())
	plain := loadYAML(t, phi3Mini)[0]
	_, err := r.Render(plain.ws, nil, Source{})
	is.NoErr(err)
	withAdapter := loadYAML(t, phi3Mini+`  adapters:
    - source:
        name: support-tone
        image: myregistry.azurecr.io/adapters/support-tone:0.1.0
`)[0]
	res, err := r.Render(withAdapter.ws, nil, Source{})
	is.NoErr(err)
	is.Equal(objectsYAML(t, res), directBuild(t, withAdapter, Source{}))
}

// Objects gives Render's objects without the overlay, and a Render after it the overlay too.
func TestObjectsThenRender(t *testing.T) {
	r := New(presets.Default())
	src := Source{Path: "fleet/ws.yaml", Commit: testCommit}
	for _, tc := range goldenCases {
		for _, l := range load(t, tc.input) {
			is := is.New(t)
			objs, err := r.Objects(l.ws, l.companions, src)
			is.NoErr(err)
			is.Equal(objs.Overlay, nil)
			full, err := r.Render(l.ws, l.companions, src)
			is.NoErr(err)
			is.True(len(full.Overlay) > 0)
			is.Equal(objectsYAML(t, objs), objectsYAML(t, full))
			is.Equal(objectsYAML(t, full), directBuild(t, l, src))
			again, err := r.Objects(l.ws, l.companions, src)
			is.NoErr(err)
			is.Equal(objectsYAML(t, again), objectsYAML(t, full))
		}
	}
}

// Companions named after their workspace ("<name>-params", as fleets name them) share the shape
// of every other workspace of the same kind, and the renamed build is what krusty builds.
func TestShapeCompanionsNamedAfterWorkspace(t *testing.T) {
	docs := map[string]string{
		"inference-config": `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata: {name: NAME, namespace: NS}
resource:
  instanceType: Standard_NV36ads_A10_v5
  labelSelector: {matchLabels: {apps: coder}}
inference:
  preset: {name: qwen2.5-coder-7b-instruct}
  config: NAME-params
---
apiVersion: v1
kind: ConfigMap
metadata: {name: NAME-params, namespace: NS}
data:
  inference_config.yaml: |
    vllm:
      max-model-len: 8192
`,
		"tuning-volumes": `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata: {name: NAME, namespace: NS}
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector: {matchLabels: {app: tune}}
tuning:
  preset: {name: phi-3-mini-4k-instruct}
  method: lora
  config: NAME
  input: {name: tickets, volumeSource: {persistentVolumeClaim: {claimName: NAME-input}}}
  output: {volumeSource: {persistentVolumeClaim: {claimName: NAME-output}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: NAME-input, namespace: NS}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: NAME-output, namespace: NS}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: NAME, namespace: NS}
data:
  training_config.yaml: |
    training_config:
      LoraConfig: {r: 8}
`,
		"adapter-volume": `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata: {name: NAME, namespace: NS}
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector: {matchLabels: {apps: chat}}
inference:
  preset: {name: phi-3-mini-4k-instruct}
  adapters:
    - source: {name: legal, volumeSource: {persistentVolumeClaim: {claimName: NAME-legal}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: NAME-legal, namespace: NS}
spec: {accessModes: [ReadOnlyMany], resources: {requests: {storage: 1Gi}}}
`,
	}
	names := []struct{ name, ns string }{{"a", "b"}, {"tune", "tune"}, {"ws-params", "x"}, {"params", "team-params"}}
	for kind, doc := range docs {
		r := New(presets.Default())
		src := Source{Path: "fleet/ws.yaml", Commit: testCommit}
		for _, n := range names {
			l := loadYAML(t, strings.NewReplacer("NAME", n.name, "NS", n.ns).Replace(doc))[0]
			if len(l.companions) == 0 {
				t.Fatalf("%s: no companions", kind)
			}
			got, err := r.Render(l.ws, l.companions, src)
			if err != nil {
				t.Fatalf("%s as %s/%s: %v", kind, n.ns, n.name, err)
			}
			if want := directBuild(t, l, src); objectsYAML(t, got) != want {
				t.Errorf("%s as %s/%s: renamed shape differs from a direct build:\n%s\nwant:\n%s", kind, n.ns, n.name, objectsYAML(t, got), want)
			}
		}
		if b := r.builds.Load(); b != 1 {
			t.Errorf("%s: %d krusty builds for one shape under %d names", kind, b, len(names))
		}
	}
}
