package render

import (
	"path"

	corev1 "k8s.io/api/core/v1"
)

// addAdapters gives the server its LoRA adapters as Kaito does. An image adapter is pulled by an
// init container (skopeo, which needs no shell in the image: adapters Kaito's tuning pushes have
// none) and its data/ layer unpacked into /mnt/adapter/<name>; a volume adapter is mounted there.
// Each adapter with a strength gets it as an env var named after it, which the server reads.
func (in *input) addAdapters(spec *corev1.PodSpec, main *corev1.Container) {
	var images, volumes []int
	for i, a := range in.ws.Inference.Adapters {
		if a.Source != nil && a.Source.Volume != nil {
			volumes = append(volumes, i)
		} else {
			images = append(images, i)
		}
	}
	adapters := in.ws.Inference.Adapters
	for _, a := range adapters {
		for _, s := range sourceOf(a.Source).ImagePullSecrets {
			spec.ImagePullSecrets = append(spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
		}
	}
	if len(images) > 0 {
		mount := corev1.VolumeMount{Name: adapterVolume, MountPath: adapterDir}
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: adapterVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		main.VolumeMounts = append(main.VolumeMounts, mount)
		for _, i := range images {
			a := adapters[i]
			src := sourceOf(a.Source)
			puller := pullerContainer(src.Image, path.Join(adapterDir, src.Name), in.release.AdapterPuller)
			puller.Name += "-" + src.Name
			puller.VolumeMounts = []corev1.VolumeMount{mount}
			if len(src.ImagePullSecrets) > 0 {
				v, m := pullSecretsVolume(src.Name+"-inference-adapter", src.ImagePullSecrets)
				spec.Volumes = append(spec.Volumes, v)
				puller.VolumeMounts = append(puller.VolumeMounts, m)
			}
			if a.Strength != nil {
				main.Env = append(main.Env, corev1.EnvVar{Name: src.Name, Value: *a.Strength})
			}
			spec.InitContainers = append(spec.InitContainers, puller)
		}
	}
	for _, i := range volumes {
		a := adapters[i]
		name := "adapter-volume-" + a.Source.Name
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: name, VolumeSource: *a.Source.Volume.DeepCopy()})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: path.Join(adapterDir, a.Source.Name)})
		if a.Strength != nil {
			main.Env = append(main.Env, corev1.EnvVar{Name: a.Source.Name, Value: *a.Strength})
		}
	}
}

func sourceOf[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// pullerContainer pulls image into dir with Kaito's puller script.
func pullerContainer(image, dir, pullerImage string) corev1.Container {
	return corev1.Container{
		Name:    "puller",
		Image:   pullerImage,
		Command: []string{"/bin/sh", "-c"},
		Args:    []string{pullerArgs(image, dir)},
	}
}

// pullSecretsVolume projects each pull secret's .dockerconfigjson into
// /root/.docker/config.d/<suffix>/<secret>.json, where the puller script tries each in turn.
func pullSecretsVolume(suffix string, secrets []string) (corev1.Volume, corev1.VolumeMount) {
	name := "docker-config-" + suffix
	var sources []corev1.VolumeProjection
	for _, s := range secrets {
		sources = append(sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: s},
			Items:                []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: s + ".json"}},
		}})
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}},
		corev1.VolumeMount{Name: name, MountPath: "/root/.docker/config.d/" + suffix}
}
