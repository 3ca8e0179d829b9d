package conformance

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// describeVolume is a volume's kind and what backs it: the claim, ConfigMap or Secret(s) and the
// items taken from them, or an emptyDir's medium. These decide what a container sees at the mount;
// modes and other rarely used fields are left to the fallback, the source as JSON.
func describeVolume(v corev1.VolumeSource) string {
	switch {
	case v.EmptyDir != nil:
		d := "emptyDir"
		if v.EmptyDir.Medium != "" {
			d += " medium=" + string(v.EmptyDir.Medium)
		}
		if v.EmptyDir.SizeLimit != nil {
			d += " sizeLimit=" + quantity(*v.EmptyDir.SizeLimit)
		}
		return d
	case v.PersistentVolumeClaim != nil:
		d := "persistentVolumeClaim " + v.PersistentVolumeClaim.ClaimName
		if v.PersistentVolumeClaim.ReadOnly {
			d += " readOnly"
		}
		return d
	case v.ConfigMap != nil:
		return "configMap " + v.ConfigMap.Name + items(v.ConfigMap.Items) + optional(v.ConfigMap.Optional)
	case v.Secret != nil:
		return "secret " + v.Secret.SecretName + items(v.Secret.Items) + optional(v.Secret.Optional)
	case v.Projected != nil:
		var sources []string
		for _, s := range v.Projected.Sources {
			sources = append(sources, projectedSource(s))
		}
		return "projected " + strings.Join(sources, ", ") // ordered: a later source wins a path
	case v.HostPath != nil:
		return "hostPath " + v.HostPath.Path
	}
	return "source " + compact(v)
}

func projectedSource(s corev1.VolumeProjection) string {
	switch {
	case s.Secret != nil:
		return "secret " + s.Secret.Name + items(s.Secret.Items) + optional(s.Secret.Optional)
	case s.ConfigMap != nil:
		return "configMap " + s.ConfigMap.Name + items(s.ConfigMap.Items) + optional(s.ConfigMap.Optional)
	}
	return compact(s)
}

// items is the key → file name mapping taken from a ConfigMap or Secret; without one every key
// becomes a file of its own name. The path matters: a registry client reads "config.json", not
// "acr-push-secret.json".
func items(ks []corev1.KeyToPath) string {
	var s []string
	for _, k := range ks {
		s = append(s, fmt.Sprintf("%s→%s", k.Key, k.Path))
	}
	if len(s) == 0 {
		return ""
	}
	return " items=" + set(s)
}

func optional(o *bool) string {
	if o != nil && *o {
		return " optional"
	}
	return ""
}
