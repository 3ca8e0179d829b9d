package render

import (
	"fmt"
	"math"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// The programs of Kaito's base image.
const (
	vllmServer        = "python3 /workspace/vllm/inference_api.py"
	rayLeader         = "/workspace/vllm/multi-node-serving.sh leader"
	rayWorker         = "/workspace/vllm/multi-node-serving.sh worker"
	multiNodeCheck    = "python3 /workspace/vllm/multi-node-health-check.py"
	accelerateLaunch  = "accelerate launch"
	transformersMain  = "/workspace/tfs/inference_api.py"
	kvEventsConfigArg = `'{"enable_kv_cache_events":true}'`
)

// serverCommand is the main container's command: the server, with its options, on one shell line.
func (in *input) serverCommand() ([]string, error) {
	switch in.runtime {
	case presets.RuntimeVLLM:
		return in.vllmCommand(), nil
	case presets.RuntimeTransformers:
		return in.transformersCommand(), nil
	}
	return nil, fmt.Errorf("unknown runtime %q", in.runtime)
}

// vllmOptions are the options Kaito v0.12.0 starts vLLM with: the model's own (from the catalog),
// then those of this workspace's GPUs, nodes, adapters and config.
func (in *input) vllmOptions() options {
	m := in.model
	o := options(m.VLLM).clone()
	o["served-model-name"] = m.ServedName
	// vLLM sizes the context to the KV cache it finds; a max-model-len in the workspace's config
	// file comes later on vLLM's command line and wins.
	o["max-model-len"] = "auto"
	o["gpu-memory-utilization"] = presets.GPUMemoryUtilization(in.gpu.model)
	if _, ok := o["kv-events-config"]; !ok {
		o["kv-events-config"] = kvEventsConfigArg
	}
	// The allreduce + RMSNorm fusion needs nvcc, which the base image does not have.
	o["compilation-config.pass_config.fuse_allreduce_rms"] = "False"
	if !m.DisallowLoRA && len(in.ws.Inference.Adapters) > 0 {
		o["enable-lora"] = ""
	}
	if lw := in.localWeights(); lw != "" {
		o["model"] = lw
		o["load-format"] = "runai_streamer"
		delete(o, "load_format")
	} else {
		o["model"] = m.HuggingFaceID
		o["download-dir"] = weightsDir
	}
	if in.ws.Inference.Config != "" {
		o["kaito-config-file"] = configDir + "/" + workspaces.InferenceConfigKey
	}
	if mode := in.ws.Metadata.Annotations[annotationPerformanceMode]; mode != "" && mode != "balanced" {
		o["performance-mode"] = mode
	}
	if m.KVCacheOffloadOff {
		o["kaito-kv-cache-cpu-memory-utilization"] = "0"
	}
	in.parallelism(o)
	return o
}

// parallelism spreads the model as Kaito does: a model under half of one GPU runs a copy per GPU
// (data parallel); otherwise it is split over the node's GPUs (tensor parallel) and, on several
// nodes, over the nodes (pipeline parallel, with Ray). CPU KV-cache offloading is off whenever the
// model is copied or pipelined.
func (in *input) parallelism(o options) {
	gpus := strconv.Itoa(in.gpu.count)
	if !in.multiNode() && in.fitsOneGPU() {
		o["data-parallel-size"] = gpus
		o["tensor-parallel-size"] = "1"
		o["kaito-kv-cache-cpu-memory-utilization"] = "0"
		return
	}
	o["tensor-parallel-size"] = gpus
	if in.multiNode() {
		o["kaito-kv-cache-cpu-memory-utilization"] = "0"
		o["pipeline-parallel-size"] = strconv.Itoa(in.nodes)
		o["distributed-executor-backend"] = "ray"
	}
}

// fitsOneGPU: the weights take less than half of one GPU of a node with several.
func (in *input) fitsOneGPU() bool {
	if in.gpu.count <= 1 || in.gpu.memoryGiB <= 0 || in.model.WeightsGiB <= 0 {
		return false
	}
	// In bytes, as Kaito compares quantities (a quantity's bytes round up).
	weights := math.Ceil(in.model.WeightsGiB * (1 << 30))
	return weights*float64(in.gpu.count)*2 < in.gpu.memoryGiB*(1<<30)
}

func (in *input) vllmCommand() []string {
	server := in.vllmOptions().after(vllmServer)
	if !in.multiNode() {
		return shell(server)
	}
	// Pod 0 starts the Ray head, waits for the other nodes and runs the server; the others join it.
	leader := options{"ray_cluster_size": strconv.Itoa(in.nodes), "ray_port": strconv.Itoa(rayPort)}.after(rayLeader)
	worker := options{"ray_address": in.leaderHost(), "ray_port": strconv.Itoa(rayPort)}.after(rayWorker)
	return shell(ifElse(`[ "${POD_INDEX}" = "0" ]`, leader+"; "+server, worker))
}

// leaderHost is pod 0's name through the headless Service.
func (in *input) leaderHost() string {
	n := in.ws.Metadata.Name
	return fmt.Sprintf("%s-0.%s-headless.%s.svc.cluster.local", n, n, in.ws.Metadata.Namespace)
}

// transformersCommand is Kaito's transformers server: accelerate on one process, the model
// downloaded from Hugging Face at start.
func (in *input) transformersCommand() []string {
	t := in.model.Transformers
	run := options(t.Run).clone()
	run["served_model_name"] = in.model.ServedName
	run["pretrained_model_name_or_path"] = in.model.HuggingFaceID
	run["allow_remote_files"] = ""
	if in.gpu.legacy {
		// V100 and T4 have no bfloat16 (kaito-sync's choice for GPUs Kaito v0.12.0 refuses).
		run["torch_dtype"] = "float16"
	}
	return shell(options(t.Accelerate).after(accelerateLaunch) + " " + run.after(transformersMain))
}

// multiNodeProbes: only pod 0 serves HTTP, so on several nodes Kaito's probes run its health check
// script, which asks the leader's Ray cluster and vLLM.
func (in *input) multiNodeProbes(c *corev1.Container) {
	live := in.multiNodeProbe("liveness", options{"ray-port": strconv.Itoa(rayPort)})
	live.InitialDelaySeconds, live.TimeoutSeconds, live.FailureThreshold = 60, 5, 1 // workers need a minute to join
	live.TerminationGracePeriodSeconds = ptr.To(int64(1))
	ready := in.multiNodeProbe("readiness", options{"vllm-port": strconv.Itoa(serverPort)})
	ready.TimeoutSeconds, ready.FailureThreshold = 1, 1
	startup := in.multiNodeProbe("readiness", options{"vllm-port": strconv.Itoa(serverPort)})
	startup.TimeoutSeconds, startup.FailureThreshold = 1, failureThreshold(in.startupTimeout())
	c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = live, ready, startup
	c.Env = append(c.Env, corev1.EnvVar{Name: "POD_INDEX", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: fmt.Sprintf("metadata.labels['%s']", appsv1.PodIndexLabel)}}})
}

func (in *input) multiNodeProbe(kind string, o options) *corev1.Probe {
	o["leader-address"] = in.leaderHost()
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: shell(o.after(multiNodeCheck + " " + kind))}},
		PeriodSeconds: probePeriod,
	}
}
