package render

import (
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// templateObjects are what Kaito creates for a workspace that brings its own pod template: the
// Services of any inference workspace, and a StatefulSet running the template as written, with the
// workspace label, Kaito's node affinity (which replaces the template's own) and the GPU
// tolerations after the template's.
func (in *input) templateObjects() []generated {
	name := in.ws.Metadata.Name
	t := in.ws.Inference.Template.DeepCopy()
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[ownership.LabelWorkspace] = name
	t.Spec.Affinity = in.nodeAffinity(true)
	t.Spec.Tolerations = append(t.Spec.Tolerations, inferenceTolerations()...)
	ss := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To(int32(in.nodes)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{ownership.LabelWorkspace: name}},
			Template: *t,
		},
	}
	return append(in.services(), generated{ss, gvkStatefulSet, name,
		"The workspace's own pod template, with Kaito's node affinity and GPU tolerations: " + in.nodesText() + "."})
}
