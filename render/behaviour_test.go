package render

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/internal/crashguard"
	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
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

// commandLine is the shell line a Kaito container runs (/bin/sh -c LINE).
func commandLine(t testing.TB, c map[string]any) string {
	t.Helper()
	cmd, _, _ := unstructured.NestedStringSlice(c, "command")
	if len(cmd) != 3 || cmd[0] != "/bin/sh" || cmd[1] != "-c" {
		t.Fatalf("command %q is not /bin/sh -c LINE", cmd)
	}
	return cmd[2]
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
		{"instance type", "Standard_NC24ads_A100_v4", "Standard_NC48ads_A100_v4"},
		{"preset", "phi-3-mini-4k-instruct", "phi-3-mini-128k-instruct"},
		{"runtime", "  namespace: team\n", "  namespace: team\n  annotations:\n    kaito.sh/runtime: transformers\n"},
		{"load balancer", "  namespace: team\n", "  namespace: team\n  annotations:\n    kaito.sh/enablelb: \"True\"\n"},
		{"node label", "apps: chat", "apps: chat-v2"},
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
		a, b := renderYAML(t, doc("2048")), renderYAML(t, doc("4096")) // phi-3-mini-4k: at most 4096
		is.True(a.Hash != b.Hash)
		is.True(strings.Contains(objectsYAML(t, b), "4096")) // the ConfigMap the server reads
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
				is.Equal(o.GetAnnotations()[ownership.AnnotationSourcePath], src.Path)
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
	first.Overlay["team/chat/statefulset-chat.yaml"] = []byte("changed")
	second, err := r.Render(l.ws, nil, Source{})
	is.NoErr(err)
	is.Equal(objectsYAML(t, second), want)
	is.True(string(second.Overlay["team/chat/statefulset-chat.yaml"]) != "changed")
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
				wantLabels := map[string]string{ownership.LabelManagedBy: ownership.ManagedBy, ownership.LabelWorkspace: name, ownership.LabelWorkspaceNamespace: ns}
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
					is.Equal(o.GetAnnotations()[ownership.AnnotationSourcePath], source(tc.input).Path)
					is.Equal(o.GetAnnotations()[ownership.AnnotationSourceCommit], testCommit)
					if o.GetKind() == "StatefulSet" || o.GetKind() == "Job" {
						workloads++
						is.Equal(o.GetName(), name)
						podLabels, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
						for k, v := range wantLabels {
							is.Equal(podLabels[k], v)
						}
						podAnn, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "annotations")
						_, leaked := podAnn[ownership.AnnotationSourceCommit]
						is.True(!leaked)
						tols, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "tolerations")
						is.True(len(tols) >= 2)
					}
					if o.GetKind() == "StatefulSet" {
						sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
						is.Equal(sel, map[string]string{ownership.LabelWorkspace: name})
					}
				}
				is.Equal(workloads, 1)
			}
		})
	}
}

// Kaito's parallelism: a model under half of one GPU gets a copy per GPU (data parallel), a bigger
// one is split over the node's GPUs (tensor parallel); every pod takes all the GPUs of its node.
func TestParallelismFollowsTheModelSize(t *testing.T) {
	tests := []struct {
		sku, preset string
		want, not   []string
	}{
		{"Standard_NC96ads_A100_v4", "phi-3-mini-4k-instruct", // 7.12Gi on 4 × 80Gi
			[]string{"--data-parallel-size=4", "--tensor-parallel-size=1", "--kaito-kv-cache-cpu-memory-utilization=0"}, nil},
		{"Standard_NC96ads_A100_v4", "qwen2.5-coder-32b-instruct", // 61Gi: more than half of 80Gi
			[]string{"--tensor-parallel-size=4"}, []string{"--data-parallel-size", "--kaito-kv-cache-cpu-memory-utilization"}},
		{"Standard_NC24ads_A100_v4", "phi-3-mini-4k-instruct", // one GPU: never data parallel
			[]string{"--tensor-parallel-size=1"}, []string{"--data-parallel-size"}},
	}
	for _, tt := range tests {
		t.Run(tt.sku+"/"+tt.preset, func(t *testing.T) {
			is := is.New(t)
			res := renderYAML(t, strings.NewReplacer("Standard_NC24ads_A100_v4", tt.sku, "phi-3-mini-4k-instruct", tt.preset).Replace(phi3Mini))
			sts := find(res, "StatefulSet", "chat")
			c := container(t, sts, "chat")
			line := commandLine(t, c)
			for _, w := range tt.want {
				is.True(strings.Contains(line, w+" ") || strings.HasSuffix(line, w)) // option present
			}
			for _, n := range tt.not {
				is.True(!strings.Contains(line, n)) // option absent
			}
			sku, _ := presets.Default().SKU(tt.sku)
			limit, _, _ := unstructured.NestedString(c, "resources", "limits", resourceGPU)
			is.Equal(limit, fmt.Sprint(sku.GPUCount))
		})
	}
}

// NodeCount is what the provisioner, the status and plan use: Kaito's estimate for vLLM, the count
// for transformers (V100 here) and templates, one for tuning.
func TestNodeCount(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want int
	}{
		{"vLLM 70B, count 2 on 1 × A100", strings.NewReplacer("resource:\n", "resource:\n  count: 2\n",
			"phi-3-mini-4k-instruct", "llama-3.3-70b-instruct\n    presetOptions:\n      modelAccessSecret: hf-token").Replace(phi3Mini), 3},
		{"vLLM, count 5 of a small model", strings.Replace(phi3Mini, "resource:\n", "resource:\n  count: 5\n", 1), 1},
		{"transformers keeps the count", strings.NewReplacer("resource:\n", "resource:\n  count: 2\n",
			"Standard_NC24ads_A100_v4", "Standard_NC6s_v3").Replace(phi3Mini), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			l := loadYAML(t, tt.doc)[0]
			is.Equal(NodeCount(presets.Default(), l.ws, l.companions), tt.want)
			if sts := find(renderYAML(t, tt.doc), "StatefulSet", "chat"); sts != nil {
				n, _, _ := unstructured.NestedInt64(sts.Object, "spec", "replicas")
				is.Equal(int(n), tt.want) // the StatefulSet runs as many
			}
		})
	}
}

// The endpoint selects pod 0 only, and a headless Service names the pods, on one node as on many.
func TestServicesSelectPodZero(t *testing.T) {
	is := is.New(t)
	res := renderYAML(t, phi3Mini)
	svc := find(res, "Service", "chat")
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	is.Equal(sel, map[string]string{ownership.LabelWorkspace: "chat", podNameLabel: "chat-0"})
	typ, _, _ := unstructured.NestedString(svc.Object, "spec", "type")
	is.Equal(typ, "ClusterIP")
	headless := find(res, "Service", "chat-headless")
	is.True(headless != nil)
	ip, _, _ := unstructured.NestedString(headless.Object, "spec", "clusterIP")
	is.Equal(ip, "None")
	name, _, _ := unstructured.NestedString(find(res, "StatefulSet", "chat").Object, "spec", "serviceName")
	is.Equal(name, "chat-headless")
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

// The startup probe waits 15 minutes plus 18 s per GiB of weights, between 30 minutes and 3 hours,
// checked every 10 s; vLLM's runs the post-load benchmark.
func TestStartupProbeIsSizedToTheModel(t *testing.T) {
	tests := []struct {
		preset string
		want   int64
	}{
		{"phi-3-mini-4k-instruct", 180},     // 7.12Gi: under the 30-minute floor
		{"llama-3.3-70b-instruct", 327},     // 131.42Gi: 15 min + 2,365.6 s
		{"deepseek-r1-0528", 1080},          // 641.3Gi: the 3-hour ceiling
		{"qwen2.5-coder-32b-instruct", 200}, // 61.03Gi: 15 min + 1,098.5 s
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			is := is.New(t)
			res := renderYAML(t, strings.NewReplacer("phi-3-mini-4k-instruct", tt.preset+"\n    presetOptions:\n      modelAccessSecret: hf-token",
				"Standard_NC24ads_A100_v4", "Standard_ND96isr_H200_v5").Replace(phi3Mini))
			c := container(t, find(res, "StatefulSet", "chat"), "chat")
			n, _, _ := unstructured.NestedInt64(c, "startupProbe", "failureThreshold")
			is.Equal(n, tt.want)
			cmd, _, _ := unstructured.NestedStringSlice(c, "startupProbe", "exec", "command")
			is.Equal(cmd, []string{"python3", "/workspace/vllm/benchmark_entrypoint.py"})
		})
	}
}

// A template runs as written, with Kaito's scheduling: its node affinity replaced by the
// workspace's, Kaito's tolerations after its own, the workspace label on its pods.
func TestTemplateGetsKaitosScheduling(t *testing.T) {
	is := is.New(t)
	res := renderFile(t, "testdata/template-own-scheduling.yaml")[0]
	sts := find(res, "StatefulSet", "own")
	tols, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "tolerations")
	is.Equal(len(tols), 5) // the user's two, then Kaito's three
	is.Equal(tols[0].(map[string]any)["key"], "dedicated")
	terms, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "affinity", "nodeAffinity",
		"requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
	is.Equal(len(terms), 1)
	exprs := terms[0].(map[string]any)["matchExpressions"].([]any)
	is.Equal(exprs[0].(map[string]any)["key"], "apps") // the user's zone term is gone, as in Kaito
	labels, _, _ := unstructured.NestedStringMap(sts.Object, "spec", "template", "metadata", "labels")
	is.Equal(labels["team"], "a")
	is.Equal(labels[ownership.LabelWorkspace], "own")
	ports, _, _ := unstructured.NestedSlice(find(res, "Service", "own").Object, "spec", "ports")
	is.Equal(ports[0].(map[string]any)["targetPort"], int64(5000)) // Kaito's Service ignores the template's ports
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
		}), nil, `workspace team/chat: render failed: unknown preset "gpt-5": not a Kaito v0.12.0 preset name nor a Hugging Face id (org/model)`},
		{"unknown instance type", with(func(ws *workspaces.Workspace) {
			ws.Resource.InstanceType = "Standard_D4s_v5"
		}), nil, `workspace team/chat: render failed: unknown instance type "Standard_D4s_v5"`},
		{"runtime the model lacks", with(func(ws *workspaces.Workspace) {
			ws.Metadata.Annotations = map[string]string{workspaces.AnnotationRuntime: "transformers"}
			ws.Inference = &workspaces.InferenceSpec{Preset: &workspaces.PresetSpec{Name: "ministral-3-8b-instruct"}}
		}), nil, `workspace team/chat: render failed: preset ministral-3-8b-instruct does not support inference with the transformers runtime in Kaito v0.12.0`},
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

// The written overlay holds only relative files of its own folder, each a resource of its
// kustomization.
func TestOverlayIsSelfContained(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			for _, res := range renderFile(t, tc.input) {
				k := string(res.Overlay[res.OverlayDir()+"/kustomization.yaml"])
				is.True(k != "")
				for _, p := range slices.Sorted(maps.Keys(res.Overlay)) {
					is.True(!strings.HasPrefix(p, "/") && !strings.Contains(p, ".."))
					is.True(strings.HasPrefix(p, res.OverlayDir()+"/"))
					name := strings.TrimPrefix(p, res.OverlayDir()+"/")
					if name != "kustomization.yaml" && name != sourceFileName {
						is.True(strings.Contains(k, "\n  - "+name+"\n")) // listed as a resource
					}
				}
			}
		})
	}
}

// A panic while rendering one workspace (a bug it found; here a Renderer without a catalog) is
// that workspace's render error, naming it and the code that panicked, and the Renderer renders
// on: the caller keeps what runs for it, and a daemon does not crash on it.
func TestRenderPanicIsThatWorkspacesError(t *testing.T) {
	is := is.New(t)
	in := load(t, "../examples/workspaces/inference/phi-3-mini.yaml")[0]
	broken := New(nil)
	for _, render := range []func() error{
		func() error { _, err := broken.Objects(in.ws, in.companions, Source{}); return err },
		func() error { _, err := broken.Render(in.ws, in.companions, Source{}); return err },
		func() error { _, err := broken.Hash(in.ws, in.companions); return err },
	} {
		err := render()
		var bug *crashguard.Error
		is.True(errors.As(err, &bug))
		is.True(strings.HasPrefix(bug.Where, "presets/"))
	}
	// Called again after three panics: an error again, not a lock left held.
	_, err := broken.Objects(in.ws, in.companions, Source{})
	is.True(strings.HasPrefix(err.Error(), "workspace default/workspace-phi-3-mini: render failed: internal error"))
}
