package render

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// loadYAML reads workspace documents from a string, checked like files from Git.
func loadYAML(t testing.TB, doc string) []loaded {
	t.Helper()
	fsys := fstest.MapFS{"ws.yaml": {Data: []byte(doc)}}
	set, err := workspaces.Load(fsys, ".", workspaces.Options{AllowSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	workspaces.Check(set, presets.Default(), workspaces.CheckOptions{})
	if set.Problems.HasErrors() {
		t.Fatalf("invalid test input: %v", set.Problems)
	}
	var out []loaded
	for _, ws := range set.Valid() {
		refs := workspaces.References(ws)
		var comps []*workspaces.Companion
		for _, c := range set.Companions {
			if slices.Contains(refs, c.Key()) {
				comps = append(comps, c)
			}
		}
		out = append(out, loaded{ws, comps})
	}
	return out
}

// renderYAML renders the first workspace of doc with a fresh renderer.
func renderYAML(t testing.TB, doc string) *Result {
	t.Helper()
	l := loadYAML(t, doc)[0]
	res, err := New(presets.Default()).Render(l.ws, l.companions, Source{Path: "ws.yaml", Commit: testCommit})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func objectsYAML(t testing.TB, res *Result) string {
	t.Helper()
	b, err := MarshalObjects(res.Objects)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func find(res *Result, kind, name string) *unstructured.Unstructured {
	for _, o := range res.Objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// container returns the named container of a workload's pod template.
func container(t testing.TB, obj *unstructured.Unstructured, name string) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	for _, c := range cs {
		if m := c.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("%s %s has no container %s", obj.GetKind(), obj.GetName(), name)
	return nil
}

func args(c map[string]any) []string {
	var out []string
	for _, a := range c["args"].([]any) {
		out = append(out, a.(string))
	}
	return out
}

const phi3Mini = `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: chat
  namespace: team
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: chat
inference:
  preset:
    name: phi-3-mini-4k-instruct
`

// Rendering twice, with two renderers, gives the same bytes: overlay files, objects, hash.
func TestRenderIsDeterministic(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			a, b := renderFile(t, tc.input), renderFile(t, tc.input)
			is.Equal(len(a), len(b))
			for i := range a {
				is.Equal(a[i].Hash, b[i].Hash)
				is.Equal(a[i].Overlay, b[i].Overlay)
				is.Equal(objectsYAML(t, a[i]), objectsYAML(t, b[i]))
			}
		})
	}
}

// Any change to what a workspace is made of changes the hash and the objects; the commit does
// not change the hash, only the commit annotation.
func TestHashFollowsContent(t *testing.T) {
	base := renderYAML(t, phi3Mini)
	tests := []struct{ name, from, to string }{
		{"node count", "resource:\n", "resource:\n  count: 2\n"},
		{"instance type", "Standard_NC24ads_A100_v4", "Standard_NC48ads_A100_v4"},
		{"preset", "phi-3-mini-4k-instruct", "phi-3-mini-128k-instruct"},
		{"runtime", "  namespace: team\n", "  namespace: team\n  annotations:\n    kaito.sh/runtime: transformers\n"},
		{"load balancer", "  namespace: team\n", "  namespace: team\n  annotations:\n    kaito.sh/enablelb: \"True\"\n"},
		{"node label", "apps: chat", "apps: chat-v2"},
		{"preferred node", "      apps: chat\n", "      apps: chat\n  preferredNodes: [node-1]\n"},
		{"model access secret", "    name: phi-3-mini-4k-instruct\n", "    name: phi-3-mini-4k-instruct\n    presetOptions:\n      modelAccessSecret: hf\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			doc := strings.Replace(phi3Mini, tt.from, tt.to, 1)
			is.True(doc != phi3Mini) // the edit applies
			changed := renderYAML(t, doc)
			is.True(changed.Hash != base.Hash)
			is.True(objectsYAML(t, changed) != objectsYAML(t, base))
		})
	}
	t.Run("companion content", func(t *testing.T) {
		is := is.New(t)
		doc := func(v string) string {
			return strings.Replace(phi3Mini, "  preset:\n", "  config: params\n  preset:\n", 1) +
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: params\n  namespace: team\ndata:\n  inference_config.yaml: |\n    vllm:\n      max-model-len: " + v + "\n"
		}
		a, b := renderYAML(t, doc("4096")), renderYAML(t, doc("8192"))
		is.True(a.Hash != b.Hash)
		is.True(strings.Contains(objectsYAML(t, b), "--max-model-len=8192"))
	})
	t.Run("commit", func(t *testing.T) {
		is := is.New(t)
		l := loadYAML(t, phi3Mini)[0]
		r := New(presets.Default())
		a, err := r.Render(l.ws, nil, Source{Path: "ws.yaml", Commit: "aaaa"})
		is.NoErr(err)
		b, err := New(presets.Default()).Render(l.ws, nil, Source{Path: "ws.yaml", Commit: "bbbb"})
		is.NoErr(err)
		is.Equal(a.Hash, b.Hash)
		is.Equal(strings.ReplaceAll(objectsYAML(t, a), "aaaa", "bbbb"), objectsYAML(t, b))
	})
}

// A cached render handed out for another source is exactly what a cold render for that source
// gives, annotations and overlay files included.
func TestCacheHitEqualsColdRender(t *testing.T) {
	l := loadYAML(t, phi3Mini)[0]
	sources := []Source{
		{Path: "a/ws.yaml", Commit: "c1"},
		{Path: "b/ws.yaml", Commit: "c2"},
		{Path: "b/ws.yaml"},
		{Path: `odd dir/ü "quoted": #x\ty.yaml`, Commit: "c3"}, // quoting in source.yaml
		{},
		{Path: "a/ws.yaml", Commit: "c1"},
	}
	warm := New(presets.Default())
	for i, src := range sources {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			is := is.New(t)
			hit, err := warm.Render(l.ws, nil, src)
			is.NoErr(err)
			cold, err := New(presets.Default()).Render(l.ws, nil, src)
			is.NoErr(err)
			is.Equal(hit.Overlay, cold.Overlay)
			is.Equal(objectsYAML(t, hit), objectsYAML(t, cold))
			_, hasSource := hit.Overlay["team/chat/source.yaml"]
			is.Equal(hasSource, src != Source{})
			for _, o := range hit.Objects {
				is.Equal(o.GetAnnotations()[AnnotationSourcePath], src.Path)
			}
		})
	}
	is := is.New(t)
	is.Equal(warm.builds.Load(), int64(1)) // one build, then cache hits
	is.Equal(warm.CacheLen(), 1)
}

// What the cache hands out is a copy: changing it does not change the next render.
func TestCachedObjectsAreCopies(t *testing.T) {
	is := is.New(t)
	l := loadYAML(t, phi3Mini)[0]
	r := New(presets.Default())
	first, err := r.Render(l.ws, nil, Source{})
	is.NoErr(err)
	want := objectsYAML(t, first)
	first.Objects[0].SetName("changed")
	first.Overlay["team/chat/statefulset.yaml"] = []byte("changed")
	second, err := r.Render(l.ws, nil, Source{})
	is.NoErr(err)
	is.Equal(objectsYAML(t, second), want)
	is.True(string(second.Overlay["team/chat/statefulset.yaml"]) != "changed")
}

func TestCacheIsBounded(t *testing.T) {
	is := is.New(t)
	r := New(presets.Default())
	r.max = 3
	for i := range 5 {
		l := loadYAML(t, strings.ReplaceAll(phi3Mini, "name: chat", fmt.Sprintf("name: chat-%d", i)))[0]
		_, err := r.Render(l.ws, nil, Source{})
		is.NoErr(err)
	}
	is.Equal(r.CacheLen(), 3)
	is.Equal(r.builds.Load(), int64(1)) // five names, one shape: krusty ran once
	is.Equal(r.shapeLRU.Len(), 1)
}

// One renderer used from many goroutines gives what sequential renders give (run with -race).
func TestConcurrentRenders(t *testing.T) {
	is := is.New(t)
	var all []loaded
	var srcs []Source
	for _, tc := range goldenCases {
		for _, l := range load(t, tc.input) {
			all = append(all, l)
			srcs = append(srcs, source(tc.input))
		}
	}
	want := make([]string, len(all))
	for i, l := range all {
		res, err := New(presets.Default()).Render(l.ws, l.companions, srcs[i])
		is.NoErr(err)
		want[i] = objectsYAML(t, res)
	}
	r := New(presets.Default())
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(all))
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range all {
				i := (j + g) % len(all) // every goroutine in another order
				res, err := r.Render(all[i].ws, all[i].companions, srcs[i])
				if err != nil {
					errs <- err
					continue
				}
				if got := objectsYAML(t, res); got != want[i] {
					errs <- fmt.Errorf("%s: concurrent render differs:\n%s", all[i].ws.Key(), firstDiff(want[i], got))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	is.Equal(r.CacheLen(), len(all))
}

// Every object carries the ownership labels and the source annotations; pod templates carry the
// labels but not the source annotations (a new commit must not restart pods). Objects come in
// apply order.
func TestOwnershipAndOrder(t *testing.T) {
	rank := map[string]int{"ConfigMap": 0, "Secret": 1, "PersistentVolumeClaim": 2, "Service": 3, "StatefulSet": 4, "Job": 4}
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			for _, res := range renderFile(t, tc.input) {
				ns, name, _ := strings.Cut(res.Key, "/")
				wantLabels := map[string]string{LabelManagedBy: ManagedBy, LabelWorkspace: name, LabelWorkspaceNamespace: ns}
				last := -1
				workloads := 0
				for _, o := range res.Objects {
					r, ok := rank[o.GetKind()]
					is.True(ok) // only the kinds kaito-sync renders
					is.True(r >= last)
					last = r
					is.Equal(o.GetNamespace(), ns)
					labels := o.GetLabels()
					for k, v := range wantLabels {
						is.Equal(labels[k], v)
					}
					is.Equal(o.GetAnnotations()[AnnotationSourcePath], source(tc.input).Path)
					is.Equal(o.GetAnnotations()[AnnotationSourceCommit], testCommit)
					if o.GetKind() == "StatefulSet" || o.GetKind() == "Job" {
						workloads++
						is.Equal(o.GetName(), name)
						podLabels, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
						for k, v := range wantLabels {
							is.Equal(podLabels[k], v)
						}
						podAnn, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "annotations")
						_, leaked := podAnn[AnnotationSourceCommit]
						is.True(!leaked)
						tols, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "tolerations")
						is.True(len(tols) >= 2)
					}
					if o.GetKind() == "StatefulSet" {
						sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
						is.Equal(sel, map[string]string{LabelWorkspace: name})
					}
				}
				is.Equal(workloads, 1)
			}
		})
	}
}

func TestInferenceShape(t *testing.T) {
	is := is.New(t)
	res := renderYAML(t, strings.Replace(phi3Mini, "Standard_NC24ads_A100_v4", "Standard_NC96ads_A100_v4", 1))
	sts := find(res, "StatefulSet", "chat")
	is.True(sts != nil)
	c := container(t, sts, containerModel)
	is.True(slices.Contains(args(c), "--tensor-parallel-size=4")) // tensor parallel = the SKU's GPUs
	limit, _, _ := unstructured.NestedString(c, "resources", "limits", resourceGPU)
	is.Equal(limit, "4")
	port, _, _ := unstructured.NestedSlice(c, "ports")
	is.Equal(port[0].(map[string]any)["containerPort"], int64(5000))
	svc := find(res, "Service", "chat")
	is.True(svc != nil)
	typ, _, _ := unstructured.NestedString(svc.Object, "spec", "type")
	is.Equal(typ, "ClusterIP")
	is.True(find(res, "Service", "chat-headless") == nil) // single node: no headless Service
}

func TestLoadBalancerNeedsExactlyTrue(t *testing.T) {
	for value, want := range map[string]string{`"True"`: "LoadBalancer", `"true"`: "ClusterIP", `"False"`: "ClusterIP"} {
		t.Run(value, func(t *testing.T) {
			is := is.New(t)
			doc := strings.Replace(phi3Mini, "  namespace: team\n", "  namespace: team\n  annotations:\n    kaito.sh/enablelb: "+value+"\n", 1)
			l := loadYAML(t, doc)[0] // "true" is only a warning
			res, err := New(presets.Default()).Render(l.ws, nil, Source{})
			is.NoErr(err)
			typ, _, _ := unstructured.NestedString(find(res, "Service", "chat").Object, "spec", "type")
			is.Equal(typ, want)
		})
	}
}

func TestStartupProbeIsSizedToTheModel(t *testing.T) {
	cat := presets.Default()
	tests := []struct {
		preset string
		nodes  int
		want   int
	}{
		{"phi-3-mini-4k-instruct", 1, 38},  // 300 s + 7.12 GiB × 10 s = 371 s
		{"phi-2", 1, 42},                   // no weights size: 12Gi of GPU memory
		{"llama-3.3-70b-instruct", 2, 174}, // 300 + 1314.2 + 120 s
		{"deepseek-r1-0528", 1, 672},       // 641.3 GiB: close to two hours
		{"llama-2-7b", 1, 44},              // 14Gi of GPU memory
		{"qwen2.5-coder-32b-instruct", 1, 92},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			is := is.New(t)
			m, ok := cat.Model(tt.preset)
			is.True(ok)
			is.Equal(startupFailureThreshold(&m, tt.nodes), tt.want)
		})
	}
}

// A template keeps the user's tolerations and affinity, with ours added.
func TestTemplateMergesSchedulingWithTheUsers(t *testing.T) {
	is := is.New(t)
	res := renderFile(t, "testdata/template-own-scheduling.yaml")[0]
	sts := find(res, "StatefulSet", "own")
	tols, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "tolerations")
	is.Equal(len(tols), 3) // ours two, then the user's own; the repeated GPU one once
	is.Equal(tols[2].(map[string]any)["key"], "dedicated")
	terms, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "affinity", "nodeAffinity",
		"requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
	is.Equal(len(terms), 1)
	exprs := terms[0].(map[string]any)["matchExpressions"].([]any)
	is.Equal(len(exprs), 2) // the user's zone AND our node label
	is.Equal(exprs[1].(map[string]any)["key"], "apps")
	labels, _, _ := unstructured.NestedStringMap(sts.Object, "spec", "template", "metadata", "labels")
	is.Equal(labels["team"], "a")
	is.Equal(labels[LabelWorkspace], "own")
	ports, _, _ := unstructured.NestedSlice(find(res, "Service", "own").Object, "spec", "ports")
	is.Equal(ports[0].(map[string]any)["targetPort"], int64(8080)) // the server's own port
}

// A companion shared by two workspaces is rendered with the first owner only, so exactly one
// workspace applies (and prunes) it.
func TestSharedCompanionGoesWithItsFirstOwner(t *testing.T) {
	is := is.New(t)
	ws := func(name string) string {
		return strings.NewReplacer("name: chat", "name: "+name, "  preset:\n", "  config: shared\n  preset:\n").Replace(phi3Mini)
	}
	doc := ws("b-chat") + "---\n" + ws("a-chat") +
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: team\ndata:\n  inference_config.yaml: |\n    vllm: {}\n"
	r := New(presets.Default())
	got := map[string]bool{}
	for _, l := range loadYAML(t, doc) {
		is.Equal(len(l.companions), 1)
		res, err := r.Render(l.ws, l.companions, Source{})
		is.NoErr(err)
		got[l.ws.Metadata.Name] = find(res, "ConfigMap", "shared") != nil
	}
	is.Equal(got, map[string]bool{"a-chat": true, "b-chat": false})
}

func TestRenderErrorsNameTheWorkspace(t *testing.T) {
	l := loadYAML(t, phi3Mini)[0]
	with := func(edit func(ws *workspaces.Workspace)) *workspaces.Workspace {
		// A shallow copy is enough: each edit replaces what it changes.
		c := *l.ws
		edit(&c)
		return &c
	}
	otherNS := &workspaces.Companion{Kind: "ConfigMap", Namespace: "elsewhere", Name: "x"}
	tests := []struct {
		name       string
		ws         *workspaces.Workspace
		companions []*workspaces.Companion
		want       string
	}{
		{"unknown preset", with(func(ws *workspaces.Workspace) {
			ws.Inference = &workspaces.InferenceSpec{Preset: &workspaces.PresetSpec{Name: "gpt-5"}}
		}), nil, `workspace team/chat: render failed: unknown preset "gpt-5"`},
		{"unknown instance type", with(func(ws *workspaces.Workspace) {
			ws.Resource.InstanceType = "Standard_D4s_v5"
		}), nil, `workspace team/chat: render failed: unknown instance type "Standard_D4s_v5"`},
		{"runtime the preset lacks", with(func(ws *workspaces.Workspace) {
			ws.Metadata.Annotations = map[string]string{workspaces.AnnotationRuntime: "vllm"}
			ws.Inference = &workspaces.InferenceSpec{Preset: &workspaces.PresetSpec{Name: "phi-2"}}
		}), nil, `workspace team/chat: render failed: preset "phi-2" does not run on "vllm"`},
		{"both inference and tuning", with(func(ws *workspaces.Workspace) {
			ws.Tuning = &workspaces.TuningSpec{}
		}), nil, "workspace team/chat: render failed: a workspace has exactly one of inference and tuning"},
		{"companion in another namespace", l.ws, []*workspaces.Companion{otherNS},
			"workspace team/chat: render failed: ConfigMap/elsewhere/x is not in the workspace's namespace"},
		{"no workspace", nil, nil, "workspace ?: render failed: no workspace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := New(presets.Default()).Render(tt.ws, tt.companions, Source{})
			is.True(err != nil)
			is.Equal(err.Error(), tt.want)
		})
	}
}

// The written overlay holds only relative references, each resolvable inside it.
func TestOverlayIsSelfContained(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			for _, res := range renderFile(t, tc.input) {
				k := string(res.Overlay[res.OverlayDir()+"/kustomization.yaml"])
				is.True(k != "")
				for _, p := range slices.Sorted(maps.Keys(res.Overlay)) {
					is.True(!strings.HasPrefix(p, "/") && !strings.Contains(p, ".."))
					is.True(strings.HasPrefix(p, "bases/") || strings.HasPrefix(p, res.OverlayDir()+"/"))
				}
				for _, line := range strings.Split(k, "\n") {
					if ref, ok := strings.CutPrefix(line, "  - ../../"); ok {
						_, exists := res.Overlay[ref+"/kustomization.yaml"]
						is.True(exists) // the base is in the overlay
					}
				}
				is.True(bytes.Contains(res.Overlay[res.OverlayDir()+"/kustomization.yaml"], []byte("allowNameChange: true")))
			}
		})
	}
}
