package render

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

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
