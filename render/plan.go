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
	e := &entry{dir: p.dir, files: p.files}
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

// presetInference renders a preset served by vLLM or transformers.
func (p *planner) presetInference() error {
	in, ws, m := p.in, p.in.ws, p.in.model
	inf := ws.Inference
	b := base{kind: kindInference, family: m.Family, runtime: in.runtime}
	if err := p.useBase(b); err != nil {
		return err
	}
	opts := in.presetOptions()
	img := m.Image
	if opts.Image != "" {
		img = opts.Image
	}
	p.image(b.image(), img)

	nodes, gpus := ws.NodeCount(), in.gpusPerNode()
	multi := nodes > 1 && m.MultiNode
	headless := p.name + "-headless"
	leader := fmt.Sprintf("%s-0.%s.%s.svc.cluster.local", p.name, headless, ws.Metadata.Namespace)

	container := map[string]any{"name": containerModel, "resources": gpuResources(gpus)}
	var env []any
	var mounts []corev1.VolumeMount
	var inits []any
	volumes := []any{map[string]any{"name": "weights", "emptyDir": map[string]any{"sizeLimit": fmt.Sprintf("%dGi", m.DiskGiB)}}}
	templateMeta := map[string]any{}

	if opts.ModelAccessSecret != "" {
		env = append(env, hfToken(opts.ModelAccessSecret))
	}

	// Adapters: an image is copied by an init container into /mnt/adapter/<name>; a volume is
	// mounted there. Each adapter's strength is an env var named after it, as Kaito's servers read.
	var adapterSecrets []string
	imageAdapters := false
	for _, a := range inf.Adapters {
		s := a.Source
		if s == nil || s.Name == "" {
			return errors.New("an adapter has no source name")
		}
		dir := adapterDir + "/" + s.Name
		switch {
		case s.Image != "":
			imageAdapters = true
			inits = append(inits, map[string]any{
				"name":         "adapter-" + s.Name,
				"image":        s.Image,
				"command":      []string{"/bin/sh", "-c", fmt.Sprintf("mkdir -p %s && cp -r /data/. %s/", dir, dir)},
				"volumeMounts": []corev1.VolumeMount{{Name: "adapters", MountPath: adapterDir}},
			})
		case s.Volume != nil:
			volumes = append(volumes, volume("adapter-"+s.Name, *s.Volume))
			mounts = append(mounts, corev1.VolumeMount{Name: "adapter-" + s.Name, MountPath: dir, ReadOnly: true})
		default:
			return fmt.Errorf("adapter %s has neither an image nor a volumeSource", s.Name)
		}
		strength := workspaces.DefaultAdapterStrength
		if a.Strength != nil {
			strength = *a.Strength
		}
		env = append(env, corev1.EnvVar{Name: s.Name, Value: strength})
		adapterSecrets = append(adapterSecrets, s.ImagePullSecrets...)
	}
	if imageAdapters {
		volumes = append(volumes, map[string]any{"name": "adapters", "emptyDir": map[string]any{}})
		mounts = append(mounts, corev1.VolumeMount{Name: "adapters", MountPath: adapterDir})
	}

	// Config: the ConfigMap is mounted where Kaito's servers read it; vLLM is also given its
	// settings as flags when the ConfigMap is in the repository, so a review shows them.
	cm, vllmConfig, err := in.inferenceConfig()
	if err != nil {
		return err
	}
	if inf.Config != "" {
		volumes = append(volumes, map[string]any{"name": "config", "configMap": map[string]any{"name": inf.Config}})
		mounts = append(mounts, corev1.VolumeMount{Name: "config", MountPath: configDir, ReadOnly: true})
		if cm != nil {
			templateMeta["annotations"] = map[string]any{AnnotationConfigHash: configHash(cm)}
		}
	}

	var f flags
	switch in.runtime {
	case presets.RuntimeVLLM:
		f.add("served-model-name", m.Name)
		f.add("gpu-memory-utilization", "0.84")
		f.add("tensor-parallel-size", strconv.Itoa(gpus))
		if multi {
			f.add("pipeline-parallel-size", strconv.Itoa(nodes))
			f.add("distributed-executor-backend", "ray")
		}
		if d, down := in.dtype(); down {
			f.add("dtype", d)
		}
		if len(inf.Adapters) > 0 {
			f.bare("enable-lora")
		}
		if inf.Config != "" {
			f.add("kaito-config-file", configDir+"/"+workspaces.InferenceConfigKey)
		}
		for _, k := range sortedKeys(vllmConfig) {
			if err := setConfigFlag(&f, k, vllmConfig[k]); err != nil {
				return err
			}
		}
		if multi {
			// Every pod runs this script: pod 0 starts the Ray head, waits for the other nodes and
			// runs the server with the flags ($@); the others join the head as Ray workers.
			container["command"] = []string{"/bin/sh", "-c", fmt.Sprintf(`if [ "$POD_INDEX" = 0 ]; then
  %[1]s leader --ray_cluster_size=%[2]d --ray_port=%[3]d
  exec %[4]s "$@"
else
  exec %[1]s worker --ray_address="$LEADER_ADDRESS" --ray_port=%[3]d
fi
`, vllmMultiNodeCmd, nodes, rayPort, strings.Join(runtimeCommand[presets.RuntimeVLLM], " ")), "vllm"}
		}
	case presets.RuntimeTransformers:
		d, _ := in.dtype()
		f.add("pipeline", "text-generation")
		f.add("torch_dtype", d)
		if multi {
			// One process per node, ranked by the pod's index, meeting at pod 0.
			container["command"] = []string{"accelerate", "launch",
				fmt.Sprintf("--num_processes=%d", nodes), fmt.Sprintf("--num_machines=%d", nodes),
				"--machine_rank=$(POD_INDEX)", "--main_process_ip=$(LEADER_ADDRESS)", fmt.Sprintf("--main_process_port=%d", distributedPort),
				"--gpu_ids=all", "/workspace/tfs/inference_api.py"}
		}
	}
	container["args"] = f.args()

	startup := map[string]any{"failureThreshold": startupFailureThreshold(m, nodes)}
	if multi {
		env = append(env,
			corev1.EnvVar{Name: "POD_INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				FieldPath: fmt.Sprintf("metadata.labels['%s']", podIndexLabel)}}},
			corev1.EnvVar{Name: "LEADER_ADDRESS", Value: leader})
		// Only pod 0 serves HTTP; the others are healthy while their process runs.
		check := map[string]any{"command": []string{"/bin/sh", "-c", fmt.Sprintf(
			`[ "$POD_INDEX" != 0 ] || python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:%d/health", timeout=5)'`, serverPort)}}
		// A python start takes longer than the default 1 s probe timeout on a busy node.
		startup["httpGet"], startup["exec"], startup["timeoutSeconds"] = null{}, check, 10
		container["readinessProbe"] = map[string]any{"httpGet": null{}, "exec": check, "timeoutSeconds": 10}
		container["livenessProbe"] = map[string]any{"httpGet": null{}, "exec": check, "timeoutSeconds": 10}
	}
	container["startupProbe"] = startup
	if len(env) > 0 {
		container["env"] = env
	}
	if len(mounts) > 0 {
		container["volumeMounts"] = mounts
	}

	podSpec := map[string]any{"containers": []any{container}, "volumes": volumes}
	if aff := p.affinity(); aff != nil {
		podSpec["affinity"] = aff
	}
	if len(inits) > 0 {
		podSpec["initContainers"] = inits
	}
	if ps := pullSecrets(opts.ImagePullSecrets, adapterSecrets); len(ps) > 0 {
		podSpec["imagePullSecrets"] = ps
	}
	tmpl := map[string]any{"spec": podSpec}
	if len(templateMeta) > 0 {
		tmpl["metadata"] = templateMeta
	}
	spec := map[string]any{
		"replicas": nodes,
		"selector": map[string]any{"matchLabels": p.selector()},
		"template": tmpl,
	}
	if multi {
		spec["serviceName"] = headless
	}
	comment := fmt.Sprintf("The base StatefulSet, renamed to %s.\n%s on %s: %s.", p.name, m.Name, in.runtime, p.nodesText(nodes, gpus))
	if multi {
		comment += "\nMulti-node: the pods find pod 0 through the headless Service; only pod 0 serves HTTP, so the\nprobes run a command instead (httpGet: null removes the base's HTTP check)."
	}
	if err := p.patch("statefulset.yaml", "StatefulSet", baseInferenceName, comment,
		map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": map[string]any{"name": p.name}, "spec": spec},
	); err != nil {
		return err
	}
	if err := p.service(serverPort); err != nil {
		return err
	}
	if multi {
		return p.headless(headless)
	}
	return nil
}

// nodesText says what the workload runs on, for the patch comments.
func (p *planner) nodesText(nodes, gpus int) string {
	it := "bring-your-own node"
	if p.in.sku != nil {
		it = p.in.sku.Name
	}
	unit := "GPUs"
	if gpus == 1 {
		unit = "GPU"
	}
	return fmt.Sprintf("%d × %s, %d %s each", nodes, it, gpus, unit)
}

// volume is a named pod volume from a workspace's volumeSource.
func volume(name string, vs corev1.VolumeSource) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: *vs.DeepCopy()}
}

// service renames the base Service and points it at the workspace's pods.
func (p *planner) service(targetPort int) error {
	spec := map[string]any{"selector": p.selector()}
	if p.in.ws.Metadata.Annotations[workspaces.AnnotationEnableLB] == "True" {
		spec["type"] = string(corev1.ServiceTypeLoadBalancer)
	}
	if targetPort != serverPort {
		// The whole key of a Service port is (port, protocol): both, or the merge misses it.
		spec["ports"] = []any{map[string]any{"name": "http", "port": 80, "protocol": "TCP", "targetPort": targetPort}}
	}
	comment := fmt.Sprintf("The base Service, renamed to %s.", p.name)
	if spec["type"] != nil {
		comment += "\nA LoadBalancer: the workspace sets kaito.sh/enablelb: \"True\"."
	}
	return p.patch("service.yaml", "Service", baseInferenceName, comment,
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": p.name}, "spec": spec})
}

// headless gives the pods of a multi-node workspace stable names (<ws>-0.<ws>-headless), so the
// nodes find the first one before any is ready.
func (p *planner) headless(name string) error {
	p.kust.Resources = append(p.kust.Resources, "service-headless.yaml")
	return p.write("service-headless.yaml", "Stable names for the pods of a multi-node workspace: the nodes meet at pod 0 before any is ready.",
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": name},
			"spec": map[string]any{
				"clusterIP":                "None",
				"publishNotReadyAddresses": true,
				"selector":                 p.selector(),
				"ports":                    []any{map[string]any{"name": "http", "port": serverPort, "targetPort": serverPort, "protocol": "TCP"}},
			}})
}

// template renders the user's pod template, with GPU node affinity, GPU tolerations and the
// workspace labels added.
func (p *planner) template() error {
	if err := p.useBase(base{kind: kindTemplate}); err != nil {
		return err
	}
	ws := p.in.ws
	t := ws.Inference.Template.DeepCopy()
	// The user's tolerations come after the GPU ones, without repeats. A strategic merge replaces
	// a toleration list, so the patch carries the whole of it.
	tols := slices.Clone(gpuTolerations)
	for _, tol := range t.Spec.Tolerations {
		if !slices.ContainsFunc(tols, func(x corev1.Toleration) bool { return x.MatchToleration(&tol) }) {
			tols = append(tols, tol)
		}
	}
	t.Spec.Tolerations = tols
	t.Spec.Affinity = mergeAffinity(t.Spec.Affinity, p.affinity())

	port := serverPort
	if len(t.Spec.Containers) > 0 && len(t.Spec.Containers[0].Ports) > 0 {
		port = int(t.Spec.Containers[0].Ports[0].ContainerPort)
	}
	tmpl, err := plain(t)
	if err != nil {
		return err
	}
	if meta, _ := tmpl.(map[string]any)["metadata"].(map[string]any); len(meta) == 0 {
		delete(tmpl.(map[string]any), "metadata")
	}
	spec := map[string]any{
		"replicas": ws.NodeCount(),
		"selector": map[string]any{"matchLabels": p.selector()},
		"template": tmpl,
	}
	if err := p.patch("statefulset.yaml", "StatefulSet", baseInferenceName,
		fmt.Sprintf("The base StatefulSet, renamed to %s: the workspace's pod template, with the GPU\nnode affinity and tolerations added.", p.name),
		map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": map[string]any{"name": p.name}, "spec": spec},
	); err != nil {
		return err
	}
	return p.service(port)
}

// mergeAffinity adds ours to the user's: our required node expressions join every term of theirs
// (terms are ORed, expressions ANDed), our preferences are appended.
func mergeAffinity(user, ours *corev1.Affinity) *corev1.Affinity {
	if ours == nil {
		return user
	}
	if user == nil {
		return ours
	}
	out := user.DeepCopy()
	if out.NodeAffinity == nil {
		out.NodeAffinity = ours.NodeAffinity
		return out
	}
	na := out.NodeAffinity
	if req := ours.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
		exprs := req.NodeSelectorTerms[0].MatchExpressions
		if na.RequiredDuringSchedulingIgnoredDuringExecution == nil || len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) == 0 {
			na.RequiredDuringSchedulingIgnoredDuringExecution = req.DeepCopy()
		} else {
			for i := range na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
				term := &na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[i]
				term.MatchExpressions = append(term.MatchExpressions, exprs...)
			}
		}
	}
	na.PreferredDuringSchedulingIgnoredDuringExecution = append(na.PreferredDuringSchedulingIgnoredDuringExecution,
		ours.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution...)
	return out
}

// downloadScript fetches each URL given as an argument into /mnt/data, named after the last part
// of its path (the URLs are arguments, never spliced into the script).
const downloadScript = `set -eu
i=0
for url in "$@"; do
  i=$((i + 1))
  name=$(basename "${url%%\?*}")
  if [ -z "$name" ] || [ -e "` + dataDir + `/$name" ]; then name="$i-$name"; fi
  echo "downloading $url to ` + dataDir + `/$name"
  curl -sSfL --retry 3 -o "` + dataDir + `/$name" "$url"
done
`

// pushScript waits for the trainer's exit code, then pushes /mnt/results when training succeeded.
const pushScript = `set -eu
until [ -f ` + exitCodeFile + ` ]; do sleep 10; done
status=$(cat ` + exitCodeFile + `)
if [ "$status" != 0 ]; then
  echo "training failed (exit code $status): nothing to push" >&2
  exit 1
fi
cd ` + resultsDir + `
oras push --registry-config ` + pushSecretDir + `/config.json "$OUTPUT_IMAGE" *
`

// tuning renders a fine-tuning Job.
func (p *planner) tuning() error {
	in, ws, m := p.in, p.in.ws, p.in.model
	t := ws.Tuning
	b := base{kind: kindTuning, family: m.Family}
	if err := p.useBase(b); err != nil {
		return err
	}
	opts := in.presetOptions()
	img := m.Image
	if opts.Image != "" {
		img = opts.Image
	}
	p.image(b.image(), img)
	if t.Input == nil || t.Output == nil {
		return errors.New("tuning needs an input and an output")
	}

	gpus := in.gpusPerNode()
	trainer := map[string]any{"name": containerTuning, "resources": gpuResources(gpus)}
	env := []corev1.EnvVar{{Name: "GPU_COUNT", Value: strconv.Itoa(gpus)}}
	if opts.ModelAccessSecret != "" {
		env = append(env, hfToken(opts.ModelAccessSecret))
	}
	trainer["env"] = env

	// The method's config: the workspace's ConfigMap, or the method's defaults.
	configName := t.Config
	if configName == "" {
		configName = p.name + "-tuning-config"
		def, err := defaultTuningConfig(t.Method)
		if err != nil {
			return fmt.Errorf("no default config for method %q", t.Method)
		}
		p.files[path.Join(p.dir, workspaces.TuningConfigKey)] = def
		p.kust.ConfigMapGenerator = append(p.kust.ConfigMapGenerator, configMapGen{
			Name: configName, Files: []string{workspaces.TuningConfigKey}, Options: genOptions{DisableNameSuffixHash: true}})
	}
	volumes := []any{map[string]any{"name": "config", "configMap": map[string]any{"name": configName}}}

	// Input: a volume is mounted as is; URLs and images are fetched by an init container.
	var inits []any
	dataMount := []corev1.VolumeMount{{Name: "data", MountPath: dataDir}}
	switch src := t.Input; {
	case src.Volume != nil:
		volumes = append(volumes, volume("data", *src.Volume))
	case len(src.URLs) > 0:
		volumes = append(volumes, map[string]any{"name": "data", "emptyDir": map[string]any{}})
		inits = append(inits, map[string]any{
			"name": "data-downloader", "image": DownloaderImage,
			"command": []string{"/bin/sh", "-c", downloadScript, "download"}, "args": src.URLs,
			"volumeMounts": dataMount,
		})
	case src.Image != "":
		volumes = append(volumes, map[string]any{"name": "data", "emptyDir": map[string]any{}})
		inits = append(inits, map[string]any{
			"name": "data-puller", "image": src.Image,
			"command":      []string{"/bin/sh", "-c", "cp -r /data/. " + dataDir + "/"},
			"volumeMounts": dataMount,
		})
	default:
		return errors.New("tuning input has no urls, image or volumeSource")
	}

	// Output: a volume keeps the result; an image output is pushed by a second container once the
	// trainer has finished.
	containers := []any{trainer}
	switch out := t.Output; {
	case out.Volume != nil:
		volumes = append(volumes, volume("results", *out.Volume))
	case out.Image != "":
		if out.ImagePushSecret == "" {
			return errors.New("an image output needs imagePushSecret")
		}
		volumes = append(volumes,
			map[string]any{"name": "results", "emptyDir": map[string]any{}},
			map[string]any{"name": "push-secret", "secret": map[string]any{"secretName": out.ImagePushSecret,
				"items": []any{map[string]any{"key": corev1.DockerConfigJsonKey, "path": "config.json"}}}})
		containers = append(containers, map[string]any{
			"name": "pusher", "image": PusherImage,
			"command": []string{"/bin/sh", "-c", pushScript},
			"env":     []corev1.EnvVar{{Name: "OUTPUT_IMAGE", Value: out.Image}},
			"volumeMounts": []corev1.VolumeMount{
				{Name: "results", MountPath: resultsDir},
				{Name: "push-secret", MountPath: pushSecretDir, ReadOnly: true},
			},
		})
	default:
		return errors.New("tuning output has neither an image nor a volumeSource")
	}

	podSpec := map[string]any{"containers": containers, "volumes": volumes}
	if aff := p.affinity(); aff != nil {
		podSpec["affinity"] = aff
	}
	if len(inits) > 0 {
		podSpec["initContainers"] = inits
	}
	if ps := pullSecrets(opts.ImagePullSecrets, t.Input.ImagePullSecrets); len(ps) > 0 {
		podSpec["imagePullSecrets"] = ps
	}
	return p.patch("job.yaml", "Job", baseTuningName,
		fmt.Sprintf("The base Job, renamed to %s.\n%s tuning of %s: %s.", p.name, t.Method, m.Name, p.nodesText(1, gpus)),
		map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": p.name},
			"spec": map[string]any{"template": map[string]any{"spec": podSpec}}})
}

// companions adds the ConfigMaps, PVCs and Secrets the workspace owns to its overlay, so they are
// applied and pruned with it. One shared with other workspaces goes with the first owner only.
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
