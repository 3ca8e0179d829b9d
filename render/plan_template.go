package render

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

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
