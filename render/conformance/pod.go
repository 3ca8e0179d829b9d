package conformance

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// gpu is the resource whose limit marks the container that runs the model.
const gpu corev1.ResourceName = "nvidia.com/gpu"

// notCompared are node labels only Kaito's provisioner puts on the nodes it creates; the README
// leaves affinity and nodeSelector terms on them out of the comparison.
var notCompared = map[string]bool{"kaito.sh/workspace": true, "kaito.sh/workspacenamespace": true}

// projectPod covers a pod template: scheduling, volumes and every container. claims are the
// StatefulSet's volumeClaimTemplates by name, described as a mount of one of them is.
func projectPod(w writer, spec *corev1.PodSpec, claims map[string]string) error {
	w.set("restartPolicy", string(or(spec.RestartPolicy, corev1.RestartPolicyAlways)))
	w.set("shareProcessNamespace", strconv.FormatBool(orPtr(spec.ShareProcessNamespace, false)))
	var pullSecrets []string
	for _, s := range spec.ImagePullSecrets {
		pullSecrets = append(pullSecrets, s.Name)
	}
	w.set("imagePullSecrets", set(pullSecrets))
	w.set("tolerations", tolerations(spec.Tolerations))
	projectScheduling(w, spec)

	volumes := map[string]string{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = describeVolume(v.VolumeSource)
		w.set("volume "+v.Name, volumes[v.Name])
	}
	for name, d := range claims { // the StatefulSet controller puts a claim in place of a same-named volume
		volumes[name] = d
	}
	for i, role := range containerRoles(spec.Containers) {
		if err := projectContainer(w.sub("container "+role), &spec.Containers[i], volumes); err != nil {
			return fmt.Errorf("container %s: %w", spec.Containers[i].Name, err)
		}
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if err := projectContainer(w.sub("container init/"+c.Name), c, volumes); err != nil {
			return fmt.Errorf("init container %s: %w", c.Name, err)
		}
	}
	return nil
}

// containerRoles names each container for matching across the two sides: the one container with
// a GPU limit is "main" (its name is the workspace's, which a renderer may spell differently);
// the others, and all of them when several claim GPUs, go by their own names.
func containerRoles(cs []corev1.Container) []string {
	roles := make([]string, len(cs))
	var withGPU []int
	for i, c := range cs {
		roles[i] = c.Name
		if _, ok := c.Resources.Limits[gpu]; ok {
			withGPU = append(withGPU, i)
		}
	}
	if len(withGPU) == 1 {
		roles[withGPU[0]] = "main"
	}
	return roles
}

// tolerations is a set: their order does not change which nodes a pod tolerates. An empty
// operator is Equal, as the API defines it.
func tolerations(ts []corev1.Toleration) string {
	var s []string
	for _, t := range ts {
		d := fmt.Sprintf("key=%s operator=%s value=%s effect=%s", t.Key, or(t.Operator, corev1.TolerationOpEqual), t.Value, t.Effect)
		if t.TolerationSeconds != nil {
			d += fmt.Sprintf(" seconds=%d", *t.TolerationSeconds)
		}
		s = append(s, d)
	}
	return set(s)
}

// projectScheduling covers nodeSelector and affinity, without the terms on notCompared labels.
func projectScheduling(w writer, spec *corev1.PodSpec) {
	var sel []string
	for k, v := range spec.NodeSelector {
		if !notCompared[k] {
			sel = append(sel, requirement(k, corev1.NodeSelectorOpIn, []string{v}))
		}
	}
	if len(sel) > 0 {
		w.set("nodeSelector", set(sel))
	}
	a := spec.Affinity
	if a == nil {
		return
	}
	if na := a.NodeAffinity; na != nil {
		if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
			var terms []string
			for _, t := range req.NodeSelectorTerms {
				if d, ok := nodeSelectorTerm(t); ok {
					terms = append(terms, d)
				}
			}
			if len(terms) > 0 {
				w.set("nodeAffinity required", set(terms))
			}
		}
		var preferred []string
		for _, p := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			if d, ok := nodeSelectorTerm(p.Preference); ok {
				preferred = append(preferred, fmt.Sprintf("weight=%d %s", p.Weight, d))
			}
		}
		if len(preferred) > 0 {
			w.set("nodeAffinity preferred", set(preferred))
		}
	}
	if a.PodAffinity != nil {
		w.set("podAffinity", compact(a.PodAffinity))
	}
	if a.PodAntiAffinity != nil {
		w.set("podAntiAffinity", compact(a.PodAntiAffinity))
	}
}

// nodeSelectorTerm is one term (its requirements ANDed) as a sorted list of requirements. ok is
// false for a term whose every requirement is on a notCompared label: without them it says
// nothing that is compared. A term that was empty to begin with (it matches no node) is kept.
func nodeSelectorTerm(t corev1.NodeSelectorTerm) (string, bool) {
	var reqs []string
	dropped := false
	for _, e := range t.MatchExpressions {
		if notCompared[e.Key] {
			dropped = true
			continue
		}
		reqs = append(reqs, requirement(e.Key, e.Operator, e.Values))
	}
	for _, e := range t.MatchFields {
		reqs = append(reqs, "field "+requirement(e.Key, e.Operator, e.Values))
	}
	if len(reqs) == 0 && dropped {
		return "", false
	}
	slices.Sort(reqs)
	return strings.Join(reqs, " && "), true
}

// requirement is (key, operator, values), the values a set.
func requirement(key string, op corev1.NodeSelectorOperator, values []string) string {
	return fmt.Sprintf("%s %s %s", key, op, set(values))
}
