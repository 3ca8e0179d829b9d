package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// Paths and names of Kaito's tuning pods.
const (
	resultsVolume     = "results-volume"
	dataVolume        = "data-volume"
	dataDir           = "/mnt/data"
	baseDir           = "/mnt"
	defaultOutputDir  = "/mnt/output"
	tuningTrainer     = "cd /workspace/tfs/ && python3 metrics_server.py & accelerate launch"
	tuningMain        = "/workspace/tfs/fine_tuning.py"
	phi3TargetModules = "k_proj,q_proj,v_proj,o_proj,gate_proj,down_proj,up_proj"
)

var gvkJob = batchv1.SchemeGroupVersion.WithKind("Job")

// defaultTuningConfig is the content of the ConfigMap Kaito copies from its release namespace
// into the workspace's when tuning.config is empty (workspaces.DefaultTuningConfig names it).
func defaultTuningConfig(method string) (string, error) {
	switch method {
	case workspaces.MethodLoRA:
		return loraParams, nil
	case workspaces.MethodQLoRA:
		return qloraParams, nil
	}
	return "", fmt.Errorf("unknown tuning method %q", method)
}

// defaultTuningConfigMap is that ConfigMap.
func defaultTuningConfigMap(name, method string) (generated, error) {
	data, err := defaultTuningConfig(method)
	if err != nil {
		return generated{}, err
	}
	return generated{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{workspaces.TuningConfigKey: data}},
		gvkConfigMap, name, fmt.Sprintf("Kaito's default %s config, which it copies into the namespace of a tuning workspace that names\nno tuning.config; shared by the namespace's tuning workspaces, applied with the first of them.", method)}, nil
}

// tuningObjects are what Kaito creates for a tuning workspace: the method's default config (when the
// workspace names none) and a Job that pulls the model's weights and the input, trains, and leaves
// the adapter in the results volume or pushes it as an image.
func (in *input) tuningObjects() ([]generated, error) {
	t := in.ws.Tuning
	if t.Input == nil || t.Output == nil {
		return nil, errors.New("tuning needs an input and an output")
	}
	if in.model.Tuning == nil {
		return nil, fmt.Errorf("preset %s cannot be tuned with Kaito %s", in.model.Name, in.release.Kaito)
	}
	var out []generated
	configName, configData := t.Config, ""
	if configName == "" {
		configName = workspaces.DefaultTuningConfig(t.Method)
	}
	switch c := in.byRef["ConfigMap/"+configName]; {
	case c != nil && c.KaitoDefault:
		data, err := defaultTuningConfig(t.Method)
		if err != nil {
			return nil, err
		}
		configData = data
	case c != nil:
		if cm, ok := c.Object.(*corev1.ConfigMap); ok {
			configData = cm.Data[workspaces.TuningConfigKey]
		}
	case t.Config == "":
		// Rendered alone, without the set's companions: the workspace brings Kaito's default.
		g, err := defaultTuningConfigMap(configName, t.Method)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
		configData = g.obj.(*corev1.ConfigMap).Data[workspaces.TuningConfigKey]
	}
	outputDir, err := tuningOutputDir(configData)
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s: %w", configName, err)
	}
	spec := in.tuningPod(configName, outputDir)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: in.ws.Metadata.Name, Labels: map[string]string{ownership.LabelWorkspace: in.ws.Metadata.Name}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{ownership.LabelWorkspace: in.ws.Metadata.Name}},
			Spec:       spec,
		}},
	}
	return append(out, generated{job, gvkJob, in.ws.Metadata.Name,
		fmt.Sprintf("%s tuning of %s: %s.", t.Method, in.model.Name, in.nodesText())}), nil
}

// tuningOutputDir is where the trainer writes the adapter: TrainingArguments.output_dir of the config,
// under /mnt (Kaito joins a relative one to /mnt), /mnt/output when the config sets none.
func tuningOutputDir(config string) (string, error) {
	var doc struct {
		TrainingConfig struct {
			TrainingArguments map[string]any `yaml:"TrainingArguments"`
		} `yaml:"training_config"`
	}
	if err := yaml.Unmarshal([]byte(config), &doc); err != nil {
		return "", fmt.Errorf("%s: %w", workspaces.TuningConfigKey, err)
	}
	v, ok := doc.TrainingConfig.TrainingArguments["output_dir"]
	if !ok || v == "" {
		return defaultOutputDir, nil
	}
	dir, ok := v.(string)
	if !ok {
		return "", errors.New("TrainingArguments.output_dir is not a string")
	}
	if !strings.HasPrefix(dir, baseDir) {
		dir = path.Join(baseDir, dir)
	}
	dir = path.Clean(dir)
	if dir == baseDir || !strings.HasPrefix(dir, baseDir) {
		return "", fmt.Errorf("TrainingArguments.output_dir %q is not a folder under %s", v, baseDir)
	}
	return dir, nil
}

// tuningPod is the pod of Kaito's tuning Job.
func (in *input) tuningPod(configName, outputDir string) corev1.PodSpec {
	t, m := in.ws.Tuning, in.model
	mounts := []corev1.VolumeMount{shmMount(), {Name: weightsVolume, MountPath: weightsDir}}
	volumes := []corev1.Volume{shmVolume(), {Name: weightsVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	var inits []corev1.Container
	if m.Tuning.WeightsImage != "" {
		inits = append(inits, corev1.Container{
			Name:         "model-weights-downloader",
			Image:        in.release.WeightsPuller,
			Command:      []string{"oras", "pull", m.Tuning.WeightsImage, "-o", weightsDir},
			VolumeMounts: []corev1.VolumeMount{{Name: weightsVolume, MountPath: weightsDir}},
		})
	}
	var env []corev1.EnvVar
	// Kaito's phi-3 rule, on the preset name as written.
	if strings.HasPrefix(strings.ToLower(t.Preset.Name), "phi-3") {
		env = append(env, corev1.EnvVar{Name: "DEFAULT_TARGET_MODULES", Value: phi3TargetModules})
	}
	env = append(env, corev1.EnvVar{Name: "PYTORCH_CUDA_ALLOC_CONF", Value: "expandable_segments:True"})
	accelerate := options(m.Tuning.Accelerate).clone()
	accelerate["num_processes"] = strconv.Itoa(in.gpu.count)
	trainer := corev1.Container{
		Name:      in.ws.Metadata.Name,
		Image:     in.release.BaseImage,
		Command:   shell(accelerate.after(tuningTrainer) + " " + options(m.Tuning.Run).after(tuningMain)),
		Resources: gpuResources(in.gpu.count),
		Ports:     []corev1.ContainerPort{{ContainerPort: serverPort}},
		Env:       env,
	}
	// The results volume: the workspace's output volume, else an emptyDir a pusher reads.
	results := corev1.Volume{Name: resultsVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	if v := t.Output.Volume; v != nil {
		results.VolumeSource = *v.DeepCopy()
	}
	resultsMount := corev1.VolumeMount{Name: resultsVolume, MountPath: outputDir}
	volumes = append(volumes, configMapVolume(configVolume, configName), results)
	mounts = append(mounts, corev1.VolumeMount{Name: configVolume, MountPath: configDir}, resultsMount)

	inputInit, inputVolumes, inputMounts := in.tuningInput()
	if inputInit != nil {
		inits = append(inits, *inputInit)
	}
	volumes = append(volumes, inputVolumes...)
	trainer.VolumeMounts = append(mounts, inputMounts...)

	spec := corev1.PodSpec{
		InitContainers: inits,
		Containers:     []corev1.Container{trainer},
		Volumes:        volumes,
		RestartPolicy:  corev1.RestartPolicyNever,
		Tolerations:    tuningTolerations(),
		Affinity:       in.nodeAffinity(false),
	}
	if img := t.Output.Image; img != "" && t.Output.Volume == nil {
		in.addPusher(&spec, resultsMount)
	}
	if len(spec.Containers) > 1 {
		// The pusher wakes the pause container when done, and the Job completes when every
		// container has exited.
		spec.ShareProcessNamespace = ptr.To(true)
	}
	return spec
}

// tuningTolerations are the tuning Job's, which differ from inference's: a "gpu" key with no value,
// and sku=gpu without an operator.
func tuningTolerations() []corev1.Toleration {
	return []corev1.Toleration{
		{Key: "gpu", Operator: corev1.TolerationOpEqual, Effect: corev1.TaintEffectNoSchedule},
		{Key: "sku", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		spotToleration(),
	}
}

// tuningInput fetches the training data into /mnt/data: an image with the puller, URLs with curl,
// or the workspace's volume mounted there.
func (in *input) tuningInput() (*corev1.Container, []corev1.Volume, []corev1.VolumeMount) {
	src := in.ws.Tuning.Input
	dataMount := corev1.VolumeMount{Name: dataVolume, MountPath: dataDir}
	emptyData := corev1.Volume{Name: dataVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	switch {
	case src.Image != "":
		secrets, secretsMount := pullSecretsVolume(src.Name+"-tuning-input", src.ImagePullSecrets)
		puller := pullerContainer(src.Image, dataDir, in.release.AdapterPuller)
		puller.VolumeMounts = []corev1.VolumeMount{secretsMount, dataMount}
		return &puller, []corev1.Volume{secrets, emptyData}, []corev1.VolumeMount{secretsMount, dataMount}
	case len(src.URLs) > 0:
		return &corev1.Container{
			Name:    "data-downloader",
			Image:   in.release.DataDownloader,
			Command: []string{"sh", "-c", dataDownloaderScript},
			Env: []corev1.EnvVar{
				{Name: "DATA_URLS", Value: strings.Join(src.URLs, " ")},
				{Name: "DATA_VOLUME_PATH", Value: dataDir},
			},
			VolumeMounts: []corev1.VolumeMount{dataMount},
		}, []corev1.Volume{emptyData}, []corev1.VolumeMount{dataMount}
	case src.Volume != nil:
		return nil, []corev1.Volume{{Name: dataVolume, VolumeSource: *src.Volume.DeepCopy()}}, []corev1.VolumeMount{dataMount}
	}
	return nil, nil, nil
}

// addPusher adds the sidecar that pushes the adapter as an image once the trainer writes its
// completion marker, and the pause container it then signals.
func (in *input) addPusher(spec *corev1.PodSpec, results corev1.VolumeMount) {
	out := in.ws.Tuning.Output
	spec.ImagePullSecrets = append(spec.ImagePullSecrets, corev1.LocalObjectReference{Name: out.ImagePushSecret})
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "docker-config", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: out.ImagePushSecret},
			Items:                []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: "config.json"}},
		}}}}}})
	annotations, _ := json.Marshal(map[string]map[string]string{"$manifest": {"sh.kaito.model.name": in.ws.Tuning.Preset.Name}})
	spec.Containers = append(spec.Containers,
		corev1.Container{
			Name:         "pusher",
			Image:        in.release.Pusher,
			Command:      []string{"/bin/sh", "-c"},
			Args:         []string{pusherArgs(results.MountPath, out.Image, string(annotations))},
			VolumeMounts: []corev1.VolumeMount{{Name: "docker-config", MountPath: "/root/.docker"}, results},
		},
		corev1.Container{Name: "pause", Image: in.release.Pause, ImagePullPolicy: corev1.PullAlways},
	)
}
