package render

import (
	"errors"
	"fmt"
	"path"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/kaito-sync/kaito-sync/workspaces"
)

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
