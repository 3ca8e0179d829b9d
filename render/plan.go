package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// Images of the helper containers kaito-sync adds, pinned.
const (
	// DownloaderImage fetches tuning input given as URLs.
	DownloaderImage = "curlimages/curl:8.11.1"
	// PusherImage pushes a tuning result to a registry as an OCI artifact.
	PusherImage = "ghcr.io/oras-project/oras:v1.2.2"
)

// Paths inside the pods, as Kaito's images expect them.
const (
	adapterDir       = "/mnt/adapter"
	configDir        = "/mnt/config"
	dataDir          = "/mnt/data"
	resultsDir       = "/mnt/results"
	pushSecretDir    = "/etc/kaito-sync/push"
	exitCodeFile     = resultsDir + "/.kaito-sync-exit-code"
	resourceGPU      = "nvidia.com/gpu"
	containerModel   = "inference"
	containerTuning  = "tuning"
	serverPort       = 5000
	distributedPort  = 29500 // torch distributed, between the nodes of a transformers model
	rayPort          = 6379
	podIndexLabel    = "apps.kubernetes.io/pod-index"
	vllmMultiNodeCmd = "/workspace/vllm/multi-node-serving.sh"
)

// gpuTolerations let pods onto GPU nodes: the device plugin's taint and the one Kaito's nodes carry.
// The preset bases hold the same two.
var gpuTolerations = []corev1.Toleration{
	{Key: resourceGPU, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: "sku", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
}

// input is what a render reads, gathered and checked.
type input struct {
	ws         *workspaces.Workspace
	companions []*workspaces.Companion          // as given, sorted by key
	byRef      map[string]*workspaces.Companion // "Kind/name" → companion
	model      *presets.Model                   // nil for template workspaces
	sku        *presets.SKU                     // nil for bring-your-own nodes
	runtime    presets.Runtime                  // inference presets only
}

func newInput(cat *presets.Catalog, ws *workspaces.Workspace, companions []*workspaces.Companion) (*input, error) {
	if ws.Metadata.Name == "" || ws.Metadata.Namespace == "" {
		return nil, errors.New("the workspace needs a name and a namespace")
	}
	in := &input{ws: ws, byRef: map[string]*workspaces.Companion{}}
	for _, c := range companions {
		if c == nil {
			continue
		}
		switch c.Kind {
		case "ConfigMap", "PersistentVolumeClaim", "Secret":
		default:
			return nil, fmt.Errorf("%s %s cannot be rendered with a workspace", c.Kind, c.Name)
		}
		if c.Namespace != ws.Metadata.Namespace {
			return nil, fmt.Errorf("%s is not in the workspace's namespace", c.Key())
		}
		ref := c.Kind + "/" + c.Name
		if _, dup := in.byRef[ref]; dup {
			return nil, fmt.Errorf("%s is given twice", c.Key())
		}
		in.byRef[ref] = c
		in.companions = append(in.companions, c)
	}
	slices.SortFunc(in.companions, func(a, b *workspaces.Companion) int { return strings.Compare(a.Key(), b.Key()) })

	switch {
	case (ws.Inference == nil) == (ws.Tuning == nil):
		return nil, errors.New("a workspace has exactly one of inference and tuning")
	case ws.Inference != nil && (ws.Inference.Preset == nil) == (ws.Inference.Template == nil):
		return nil, errors.New("inference has exactly one of preset and template")
	case ws.Tuning != nil && ws.Tuning.Preset == nil:
		return nil, errors.New("tuning needs a preset")
	}
	if it := ws.InstanceType(); it != "" {
		sku, ok := cat.SKU(it)
		if !ok {
			return nil, fmt.Errorf("unknown instance type %q", it)
		}
		in.sku = &sku
	}
	if name := ws.PresetName(); name != "" {
		m, ok := cat.Model(name)
		if !ok {
			return nil, fmt.Errorf("unknown preset %q", name)
		}
		in.model = &m
		if m.Private && in.presetOptions().Image == "" {
			return nil, fmt.Errorf("preset %q is private: presetOptions.image is required", name)
		}
		if ws.Inference != nil {
			in.runtime = m.DefaultRuntime()
			if r, ok := ws.Metadata.Annotations[workspaces.AnnotationRuntime]; ok {
				in.runtime = presets.Runtime(r)
			}
			if !m.Supports(in.runtime) {
				return nil, fmt.Errorf("preset %q does not run on %q", name, in.runtime)
			}
		}
	}
	return in, nil
}

func (in *input) preset() *workspaces.PresetSpec {
	if in.ws.Inference != nil {
		return in.ws.Inference.Preset
	}
	return in.ws.Tuning.Preset
}

func (in *input) presetOptions() workspaces.PresetOptions {
	if p := in.preset(); p != nil && p.PresetOptions != nil {
		return *p.PresetOptions
	}
	return workspaces.PresetOptions{}
}

// gpusPerNode is what each pod asks for: all the GPUs of its node. Without a SKU (bring-your-own
// nodes) it is the preset's fixed GPU count, or one.
func (in *input) gpusPerNode() int {
	if in.sku != nil {
		return in.sku.GPUCount
	}
	if in.model != nil && in.model.GPUCount > 0 {
		return in.model.GPUCount
	}
	return 1
}

// dtype is the preset's, except that V100 and T4 GPUs have no bfloat16: they get float16.
func (in *input) dtype() (dtype string, downgraded bool) {
	d := in.model.DType
	if d == "bfloat16" && in.sku != nil && (in.sku.GPUModel == "V100" || in.sku.GPUModel == "T4") {
		return "float16", true
	}
	return d, false
}

// planner writes the overlay of one workspace.
type planner struct {
	in    *input
	name  string
	dir   string
	files map[string][]byte
	kust  *kustomization
}

func (in *input) plan() (*entry, error) {
	name, ns := in.ws.Metadata.Name, in.ws.Metadata.Namespace
	p := &planner{in: in, name: name, dir: ns + "/" + name, files: map[string][]byte{}}
	p.kust = &kustomization{
		key:        ns + "/" + name,
		APIVersion: "kustomize.config.k8s.io/v1beta1",
		Kind:       "Kustomization",
		Namespace:  ns,
		Labels: []kLabel{{Pairs: map[string]string{
			LabelManagedBy:          ManagedBy,
			LabelWorkspace:          name,
			LabelWorkspaceNamespace: ns,
		}, IncludeTemplates: true}},
		SortOptions: applyOrder,
	}
	var err error
	switch {
	case in.ws.Tuning != nil:
		err = p.tuning()
	case in.ws.Inference.Template != nil:
		err = p.template()
	default:
		err = p.presetInference()
	}
	if err == nil {
		err = p.companions()
	}
	if err != nil {
		return nil, err
	}
	e := &entry{dir: p.dir, files: p.files, planned: true}
	if e.kustWithSource, err = p.kust.marshal(true); err != nil {
		return nil, err
	}
	if e.kustNoSource, err = p.kust.marshal(false); err != nil {
		return nil, err
	}
	return e, nil
}

func (p *planner) useBase(b base) error {
	files, err := b.files()
	if err != nil {
		return err
	}
	for name, data := range files {
		p.files[path.Join("bases", b.Dir(), name)] = data
	}
	p.kust.Resources = append(p.kust.Resources, "../../bases/"+b.Dir())
	return nil
}

// write adds a file to the overlay folder.
func (p *planner) write(name, comment string, v any) error {
	data, err := file(comment, v)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	p.files[path.Join(p.dir, name)] = data
	return nil
}

// patch adds a strategic-merge patch that renames the base object target to the workspace.
func (p *planner) patch(file, kind, target, comment string, v any) error {
	p.kust.Patches = append(p.kust.Patches, kPatch{Path: file, Target: kTarget{Kind: kind, Name: target},
		Options: patchOptions{AllowNameChange: true}})
	return p.write(file, comment, v)
}

// image points the base's placeholder image at ref.
func (p *planner) image(placeholder, ref string) {
	name, tag, digest := splitImage(ref)
	p.kust.Images = append(p.kust.Images, kImage{Name: placeholder, NewName: name, NewTag: tag, Digest: digest})
}

// splitImage splits registry/repo[:tag][@digest].
func splitImage(ref string) (name, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if c := strings.LastIndex(ref, ":"); c > strings.LastIndex(ref, "/") {
		ref, tag = ref[:c], ref[c+1:]
	}
	return ref, tag, digest
}

// selector is the workloads' and Services' selector: the workspace label, as Kaito selects.
func (p *planner) selector() map[string]any { return map[string]any{LabelWorkspace: p.name} }

// affinity requires the nodes labelSelector picks and prefers preferredNodes, by hostname.
func (p *planner) affinity() *corev1.Affinity {
	r := p.in.ws.Resource
	na := &corev1.NodeAffinity{}
	if exprs := nodeRequirements(r.LabelSelector); len(exprs) > 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: exprs}}}
	}
	if len(r.PreferredNodes) > 0 {
		na.PreferredDuringSchedulingIgnoredDuringExecution = []corev1.PreferredSchedulingTerm{{
			Weight: 100,
			Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: slices.Clone(r.PreferredNodes)}}},
		}}
	}
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil && na.PreferredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	return &corev1.Affinity{NodeAffinity: na}
}

// nodeRequirements turns a label selector into node selector requirements: matchLabels sorted by
// key, then matchExpressions as written (their operators are the same words).
func nodeRequirements(sel *metav1.LabelSelector) []corev1.NodeSelectorRequirement {
	if sel == nil {
		return nil
	}
	var out []corev1.NodeSelectorRequirement
	for _, k := range sortedKeys(sel.MatchLabels) {
		out = append(out, corev1.NodeSelectorRequirement{Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{sel.MatchLabels[k]}})
	}
	for _, e := range sel.MatchExpressions {
		out = append(out, corev1.NodeSelectorRequirement{Key: e.Key, Operator: corev1.NodeSelectorOperator(e.Operator), Values: slices.Clone(e.Values)})
	}
	return out
}

// gpuResources asks for n GPUs.
func gpuResources(n int) map[string]any {
	q := strconv.Itoa(n)
	return map[string]any{"limits": map[string]any{resourceGPU: q}, "requests": map[string]any{resourceGPU: q}}
}

func pullSecrets(names ...[]string) []any {
	var all []string
	for _, n := range names {
		all = append(all, n...)
	}
	slices.Sort(all)
	var out []any
	for _, n := range slices.Compact(all) {
		out = append(out, map[string]any{"name": n})
	}
	return out
}

func hfToken(secret string) corev1.EnvVar {
	return corev1.EnvVar{Name: "HF_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "HF_TOKEN"}}}
}

// startupFailureThreshold sizes the startup probe to the model, checked every 10 s: 5 minutes for
// the engine to start (CUDA init, graph capture) plus 10 s per GiB of weights (reading or
// downloading them at ~100 MiB/s), plus 2 minutes per extra node to form the cluster.
// phi-3-mini (7.12Gi) gets 38 checks (6m20s); llama-3.3-70b (131.42Gi) on 2 nodes gets 174 (29 min).
// Presets without a weights size are sized by their GPU memory, else their disk.
func startupFailureThreshold(m *presets.Model, nodes int) int {
	weights := m.WeightsGiB
	if weights <= 0 {
		weights = m.GPUMemoryGiB
	}
	if weights <= 0 {
		weights = float64(m.DiskGiB) / 2
	}
	seconds := 300 + 10*weights + 120*float64(nodes-1)
	return int(math.Ceil(seconds / 10))
}

// flags is an ordered set of engine flags; a later set of the same flag replaces its value in place.
type flags struct {
	keys []string
	vals map[string]*string // nil value: a bare flag
}

func (f *flags) set(k string, v *string) {
	if f.vals == nil {
		f.vals = map[string]*string{}
	}
	if _, ok := f.vals[k]; !ok {
		f.keys = append(f.keys, k)
	}
	f.vals[k] = v
}

func (f *flags) add(k, v string) { f.set(k, &v) }
func (f *flags) bare(k string)   { f.set(k, nil) }
func (f *flags) drop(k string) {
	if _, ok := f.vals[k]; ok {
		delete(f.vals, k)
		f.keys = slices.DeleteFunc(f.keys, func(x string) bool { return x == k })
	}
}

func (f *flags) args() []string {
	var out []string
	for _, k := range f.keys {
		if v := f.vals[k]; v != nil {
			out = append(out, "--"+k+"="+*v)
		} else {
			out = append(out, "--"+k)
		}
	}
	return out
}

// inferenceConfig reads the vllm section of the workspace's inference config, when the ConfigMap is
// in the repository; cm is nil when it is not (it exists in the cluster only).
func (in *input) inferenceConfig() (cm *corev1.ConfigMap, vllm map[string]any, err error) {
	c := in.byRef["ConfigMap/"+in.ws.Inference.Config]
	if c == nil {
		return nil, nil, nil
	}
	cm, _ = c.Object.(*corev1.ConfigMap)
	if cm == nil {
		return nil, nil, nil
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data[workspaces.InferenceConfigKey]), &doc); err != nil {
		return nil, nil, fmt.Errorf("ConfigMap %s: %s: %w", cm.Name, workspaces.InferenceConfigKey, err)
	}
	vllm, _ = doc["vllm"].(map[string]any)
	return cm, vllm, nil
}

// setConfigFlag sets one flag from the config: true is a bare flag, false removes it, lists and
// maps are passed as JSON (as vLLM takes them).
func setConfigFlag(f *flags, k string, v any) error {
	switch x := v.(type) {
	case nil:
		f.bare(k)
	case bool:
		if x {
			f.bare(k)
		} else {
			f.drop(k)
		}
	case string:
		f.add(k, x)
	case int:
		f.add(k, strconv.Itoa(x))
	case float64:
		f.add(k, strconv.FormatFloat(x, 'f', -1, 64))
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("vllm.%s: %w", k, err)
		}
		f.add(k, string(b))
	}
	return nil
}

func configHash(cm *corev1.ConfigMap) string {
	b, _ := json.Marshal(struct {
		Data       map[string]string
		BinaryData map[string][]byte
	}{cm.Data, cm.BinaryData})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (p *planner) companions() error {
	var files []string
	for _, c := range p.in.companions {
		if len(c.Owners) > 0 && c.Owners[0] != p.in.ws.Key() {
			continue
		}
		obj, err := plain(c.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Key(), err)
		}
		o := obj.(map[string]any)
		o["apiVersion"], o["kind"] = "v1", c.Kind
		delete(o, "status")
		if meta, ok := o["metadata"].(map[string]any); ok {
			for _, k := range []string{"creationTimestamp", "resourceVersion", "uid", "generation", "managedFields", "selfLink"} {
				delete(meta, k)
			}
		}
		prefix := map[string]string{"ConfigMap": "configmap", "PersistentVolumeClaim": "pvc", "Secret": "secret"}[c.Kind]
		name := prefix + "-" + c.Name + ".yaml"
		if err := p.write(name, fmt.Sprintf("%s %s, declared beside the workspace: applied and pruned with it.", c.Kind, c.Name), o); err != nil {
			return err
		}
		files = append(files, name)
	}
	slices.Sort(files)
	p.kust.Resources = append(p.kust.Resources, files...)
	return nil
}
