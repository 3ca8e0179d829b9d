package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// Names, paths and ports of the pods Kaito v0.12.0 creates.
const (
	resourceGPU      = "nvidia.com/gpu"
	serverPort       = 5000
	kvEventsPort     = 5557
	rayPort          = 6379
	rayDashboardPort = 8265
	podIndexLabel    = "apps.kubernetes.io/pod-index"
	podNameLabel     = "statefulset.kubernetes.io/pod-name"
	nvmeStorageClass = "kaito-local-nvme-disk"
	weightsVolume    = "model-weights-volume"
	weightsDir       = "/workspace/weights"
	configVolume     = "config-volume"
	configDir        = "/mnt/config"
	adapterVolume    = "adapter-volume"
	adapterDir       = "/mnt/adapter"
	healthPath       = "/health"
	cudaHome         = "/opt/kaito/cuda/129"
	cudaVolume       = "cuda-toolkit-hostpath"

	annotationDisableBenchmark = "kaito.sh/disable-benchmark"
	annotationPerformanceMode  = workspaces.AnnotationPerformanceMode
)

var (
	gvkService     = corev1.SchemeGroupVersion.WithKind("Service")
	gvkStatefulSet = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	gvkConfigMap   = corev1.SchemeGroupVersion.WithKind("ConfigMap")
)

func (in *input) objects() ([]generated, error) {
	switch {
	case in.ws.Tuning != nil:
		return in.tuningObjects()
	case in.ws.Inference.Template != nil:
		return in.templateObjects(), nil
	}
	return in.presetObjects()
}

// presetObjects are what Kaito creates for a preset inference workspace: a Service in front of
// pod 0, a headless Service giving the pods stable names, and the StatefulSet.
func (in *input) presetObjects() ([]generated, error) {
	spec, err := in.inferencePod()
	if err != nil {
		return nil, err
	}
	ss := in.statefulSet(spec)
	if in.downloadsWeights() && in.gpu.nvme {
		// Weights go to the node's NVMe disks (Kaito's chart installs the storage class).
		ss.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{in.weightsClaim()}
	}
	return append(in.services(), generated{ss, gvkStatefulSet, in.ws.Metadata.Name,
		fmt.Sprintf("%s on %s: %s.", in.model.Name, in.runtime, in.nodesText())}), nil
}

// services are the workspace's endpoint and the headless Service its pods are named through.
func (in *input) services() []generated {
	name := in.ws.Metadata.Name
	typ := corev1.ServiceTypeClusterIP
	if in.ws.Metadata.Annotations[workspaces.AnnotationEnableLB] == "True" {
		typ = corev1.ServiceTypeLoadBalancer
	}
	ports := []corev1.ServicePort{
		servicePort("http", 80, serverPort),
		servicePort("ray", rayPort, rayPort),
		servicePort("dashboard", rayDashboardPort, rayDashboardPort),
	}
	// vLLM's KV cache events are unauthenticated: Kaito never publishes them on a LoadBalancer.
	if typ == corev1.ServiceTypeClusterIP && in.runtime == presets.RuntimeVLLM {
		ports = append(ports, servicePort("kv-events", kvEventsPort, kvEventsPort))
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:  typ,
			Ports: ports,
			// Only pod 0 serves: on several nodes the others are Ray workers.
			Selector:                 map[string]string{ownership.LabelWorkspace: name, podNameLabel: name + "-0"},
			PublishNotReadyAddresses: true,
		},
	}
	headless := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-headless"},
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 map[string]string{ownership.LabelWorkspace: name},
			PublishNotReadyAddresses: true,
		},
	}
	comment := "The workspace's endpoint: port 80 to the server on pod 0."
	if typ == corev1.ServiceTypeLoadBalancer {
		comment += "\nA LoadBalancer: the workspace sets kaito.sh/enablelb: \"True\"."
	}
	return []generated{
		{svc, gvkService, name, comment},
		{headless, gvkService, name + "-headless", "Stable names for the workspace's pods (<name>-0.<name>-headless): nodes meet at pod 0 before any is ready."},
	}
}

func servicePort(name string, port, target int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: corev1.ProtocolTCP, Port: port, TargetPort: intstr.FromInt32(target)}
}

// statefulSet wraps a pod spec as Kaito does for every inference workspace.
func (in *input) statefulSet(spec corev1.PodSpec) *appsv1.StatefulSet {
	name := in.ws.Metadata.Name
	sel := map[string]string{ownership.LabelWorkspace: name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(int32(in.nodes)),
			PodManagementPolicy: appsv1.ParallelPodManagement,
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
			},
			Selector:    &metav1.LabelSelector{MatchLabels: sel},
			ServiceName: name + "-headless",
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{ownership.LabelWorkspace: name}},
				Spec:       spec,
			},
		},
	}
}

func (in *input) weightsClaim() corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: weightsVolume, Labels: map[string]string{ownership.LabelWorkspace: in.ws.Metadata.Name}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(nvmeStorageClass),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse(strconv.Itoa(in.model.DiskGiB) + "Gi"),
			}},
		},
	}
}

// downloadsWeights: the server downloads the weights from Hugging Face into /workspace/weights at
// start (every preset in Kaito v0.12.0; node-local weights opt out).
func (in *input) downloadsWeights() bool { return in.localWeights() == "" }

// localWeights is the node folder holding baked-in weights when the workspace opts in with
// kaito.sh/use-local-weights: "true", else "".
func (in *input) localWeights() string {
	seg := localWeightsSegment(in.ws.PresetName())
	if in.ws.Metadata.Annotations["kaito.sh/use-local-weights"] != "true" || seg == "" {
		return ""
	}
	return "/opt/kaito/models/" + seg
}

// multiNode: vLLM spreads the model over several nodes with Ray.
func (in *input) multiNode() bool {
	return in.runtime == presets.RuntimeVLLM && in.model.MultiNode && in.nodes > 1
}

// inferencePod is the pod Kaito runs a preset in.
func (in *input) inferencePod() (corev1.PodSpec, error) {
	name := in.ws.Metadata.Name
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	if cfg := in.ws.Inference.Config; cfg != "" {
		volumes = append(volumes, configMapVolume(configVolume, cfg))
		mounts = append(mounts, corev1.VolumeMount{Name: configVolume, MountPath: configDir})
	}
	if lw := in.localWeights(); lw != "" {
		volumes = append(volumes, corev1.Volume{Name: "model-weights-hostpath", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: lw, Type: ptr.To(corev1.HostPathDirectory)}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "model-weights-hostpath", MountPath: lw, ReadOnly: true})
	} else {
		mounts = append(mounts, corev1.VolumeMount{Name: weightsVolume, MountPath: weightsDir})
	}
	if in.model.RequiresCUDAToolkit {
		volumes = append(volumes, corev1.Volume{Name: cudaVolume, VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: cudaHome, Type: ptr.To(corev1.HostPathDirectoryOrCreate)}}})
		mounts = append(mounts, corev1.VolumeMount{Name: cudaVolume, MountPath: cudaHome, ReadOnly: true})
	}
	volumes = append(volumes, shmVolume())
	mounts = append(mounts, shmMount())

	command, err := in.serverCommand()
	if err != nil {
		return corev1.PodSpec{}, err
	}
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: serverPort}}
	if in.runtime == presets.RuntimeVLLM {
		ports = append(ports, corev1.ContainerPort{Name: "kv-events", ContainerPort: kvEventsPort})
	}
	main := corev1.Container{
		Name:           name,
		Image:          in.release.BaseImage,
		Command:        command,
		Resources:      gpuResources(in.gpu.count),
		Ports:          ports,
		StartupProbe:   httpStartupProbe(in.startupTimeout()),
		LivenessProbe:  httpProbe(0, 3),
		ReadinessProbe: httpProbe(30, 0),
		VolumeMounts:   mounts,
		Env:            in.serverEnv(),
	}
	spec := corev1.PodSpec{
		Affinity:    in.nodeAffinity(true),
		Tolerations: inferenceTolerations(),
	}
	if in.model.RequiresCUDAToolkit {
		spec.InitContainers = append(spec.InitContainers, corev1.Container{
			Name:    "cuda-toolkit-provisioner",
			Image:   in.release.BaseImage,
			Command: []string{"/bin/sh", "-c", `flock "$1" /workspace/cuda-provision.sh "$1"`, "sh", cudaHome},
			// The toolkit is installed once per node, so a path of the node's, written here.
			VolumeMounts: []corev1.VolumeMount{{Name: cudaVolume, MountPath: cudaHome}},
		})
	}
	if opts := in.presetOptions(); opts.ModelAccessSecret != "" {
		main.Env = append(main.Env, corev1.EnvVar{Name: "HF_TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: opts.ModelAccessSecret},
				Key:                  "HF_TOKEN",
				Optional:             ptr.To(true),
			}}})
	}
	spec.Volumes = volumes
	in.addAdapters(&spec, &main)
	if in.multiNode() {
		in.multiNodeProbes(&main)
	}
	if in.runsBenchmark() {
		main.StartupProbe = in.benchmarkProbe()
	}
	if in.downloadsWeights() && !in.gpu.nvme {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: weightsVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	spec.Containers = []corev1.Container{main}
	return spec, nil
}

// serverEnv is the main container's environment before the token, adapters and pod index.
func (in *input) serverEnv() []corev1.EnvVar {
	var env []corev1.EnvVar
	if in.runtime == presets.RuntimeVLLM {
		// The base image has no nvcc: FlashInfer's sampler and DeepGEMM would compile kernels at
		// start. Models that need DeepGEMM get it, with the toolkit installed by an init container.
		deepGEMM := "0"
		if in.model.RequiresDeepGEMM {
			deepGEMM = "1"
		}
		env = append(env, corev1.EnvVar{Name: "VLLM_USE_FLASHINFER_SAMPLER", Value: "0"},
			corev1.EnvVar{Name: "VLLM_USE_DEEP_GEMM", Value: deepGEMM})
	}
	if in.model.RequiresCUDAToolkit {
		env = append(env, corev1.EnvVar{Name: "CUDA_HOME", Value: cudaHome})
	}
	if lw := in.localWeights(); lw != "" {
		env = append(env, corev1.EnvVar{Name: "KAITO_PROCESSOR", Value: lw})
	}
	return env
}

// nodeAffinity requires the nodes the labelSelector's matchLabels pick (Kaito ignores its
// matchExpressions and the keys it reserves for itself) and, on nodes kaito-sync provisions, the
// nodes made for this workspace.
func (in *input) nodeAffinity(provisioned bool) *corev1.Affinity {
	var reqs []corev1.NodeSelectorRequirement
	if sel := in.ws.Resource.LabelSelector; sel != nil {
		for _, k := range sortedKeys(sel.MatchLabels) {
			if reservedSelectorKey(k) {
				continue
			}
			reqs = append(reqs, corev1.NodeSelectorRequirement{Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{sel.MatchLabels[k]}})
		}
	}
	if provisioned && in.sku != nil && in.opts.ProvisionedNodeLabels {
		reqs = append(reqs,
			corev1.NodeSelectorRequirement{Key: ownership.LabelWorkspace, Operator: corev1.NodeSelectorOpIn, Values: []string{in.ws.Metadata.Name}},
			corev1.NodeSelectorRequirement{Key: ownership.LabelWorkspaceNamespace, Operator: corev1.NodeSelectorOpIn, Values: []string{in.ws.Metadata.Namespace}})
	}
	if len(reqs) == 0 {
		// An empty term is refused by the API server.
		return nil
	}
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}}}}}
}

// reservedSelectorKey: labels Kaito puts on its own nodes and refuses to take from a user's
// selector, so one workspace cannot pick another's nodes.
func reservedSelectorKey(k string) bool {
	switch k {
	case ownership.LabelWorkspace, ownership.LabelWorkspaceNamespace, "kaito.sh/ragengine", "kaito.sh/ragenginenamespace",
		"karpenter.kaito.sh/workspace-name", "karpenter.kaito.sh/workspace-namespace",
		"karpenter.kaito.sh/inferenceset", "karpenter.kaito.sh/inferenceset-namespace":
		return true
	}
	return false
}

// inferenceTolerations let the pods onto GPU nodes: the device plugin's taint, Kaito's sku=gpu and
// Azure spot nodes.
func inferenceTolerations() []corev1.Toleration {
	return []corev1.Toleration{
		{Key: resourceGPU, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: "sku", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		spotToleration(),
	}
}

func spotToleration() corev1.Toleration {
	return corev1.Toleration{Key: "kubernetes.azure.com/scalesetpriority", Operator: corev1.TolerationOpEqual, Value: "spot", Effect: corev1.TaintEffectNoSchedule}
}

func gpuResources(n int) corev1.ResourceRequirements {
	q := *resource.NewQuantity(int64(n), resource.DecimalSI)
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{resourceGPU: q},
		Limits:   corev1.ResourceList{resourceGPU: q.DeepCopy()},
	}
}

func shmVolume() corev1.Volume {
	return corev1.Volume{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}
}

func shmMount() corev1.VolumeMount { return corev1.VolumeMount{Name: "dshm", MountPath: "/dev/shm"} }

func configMapVolume(name, configMap string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: configMap}}}}
}

func httpProbe(initialDelay, failureThreshold int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: healthPath, Port: intstr.FromInt32(serverPort)}},
		InitialDelaySeconds: initialDelay,
		PeriodSeconds:       10,
		FailureThreshold:    failureThreshold,
	}
}

// Startup timeouts: 15 minutes plus 18 s per GiB of weights (a download at ~60 MB/s), at least 30
// minutes and at most 3 hours, as Kaito v0.12.0 sizes them.
const (
	minStartup     = 30 * time.Minute
	maxStartup     = 180 * time.Minute
	startupBase    = 15 * time.Minute
	startupPerGiB  = 18 * time.Second
	probePeriod    = 10
	benchmarkProbe = "/workspace/vllm/benchmark_entrypoint.py"
)

func (in *input) startupTimeout() time.Duration {
	t := startupBase + time.Duration(in.model.WeightsGiB*float64(startupPerGiB))
	return min(max(t, minStartup), maxStartup)
}

func failureThreshold(timeout time.Duration) int32 {
	return int32(math.Ceil(timeout.Seconds() / probePeriod))
}

func httpStartupProbe(timeout time.Duration) *corev1.Probe {
	return httpProbe(0, failureThreshold(timeout))
}

// runsBenchmark: after the model loads, Kaito's startup probe runs a short benchmark (vLLM presets,
// unless kaito.sh/disable-benchmark is "true").
func (in *input) runsBenchmark() bool {
	return in.runtime == presets.RuntimeVLLM && in.ws.Metadata.Annotations[annotationDisableBenchmark] != "true"
}

func (in *input) benchmarkProbe() *corev1.Probe {
	command := []string{"python3", benchmarkProbe}
	if in.multiNode() {
		// Workers do not serve: they start at once, so a rolling update cannot deadlock on them.
		command = shell(`if [ "$POD_INDEX" = "0" ]; then python3 ` + benchmarkProbe + `; else true; fi`)
	}
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: command}},
		PeriodSeconds:    probePeriod,
		TimeoutSeconds:   600, // the benchmark itself runs inside the probe
		FailureThreshold: failureThreshold(in.startupTimeout()),
	}
}

// nodesText says what the workload runs on, for the overlay's comments.
func (in *input) nodesText() string {
	it := "bring-your-own node"
	if in.sku != nil {
		it = in.sku.Name
	}
	unit := "GPUs"
	if in.gpu.count == 1 {
		unit = "GPU"
	}
	return fmt.Sprintf("%d × %s, %d %s each", in.nodes, it, in.gpu.count, unit)
}

// localWeightsSegment maps a preset name to one folder name, as Kaito does: trimmed, lower case,
// path separators as dashes; "" when the result could leave the folder.
func localWeightsSegment(name string) string {
	s := strings.NewReplacer("/", "-", "\\", "-").Replace(strings.ToLower(strings.TrimSpace(name)))
	if s == "" || s == "." || s == ".." {
		return ""
	}
	return s
}
