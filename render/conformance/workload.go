package conformance

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The workloads: what the controller does with the pods (how many, which, how they are named and
// retried), then the pod template itself.

func projectStatefulSet(w writer, s *appsv1.StatefulSet) error {
	w.set("replicas", strconv.Itoa(int(orPtr(s.Spec.Replicas, 1))))
	w.set("selector", selector(s.Spec.Selector))
	w.set("podManagementPolicy", string(or(s.Spec.PodManagementPolicy, appsv1.OrderedReadyPodManagement)))
	w.set("serviceName", s.Spec.ServiceName)
	claims := map[string]string{}
	for _, c := range s.Spec.VolumeClaimTemplates {
		claims[c.Name] = "volumeClaimTemplate " + c.Name
		projectClaimTemplate(w.sub("volumeClaimTemplate "+c.Name), c)
	}
	return projectPod(w, &s.Spec.Template.Spec, claims)
}

func projectDeployment(w writer, d *appsv1.Deployment) error {
	w.set("replicas", strconv.Itoa(int(orPtr(d.Spec.Replicas, 1))))
	w.set("selector", selector(d.Spec.Selector))
	return projectPod(w, &d.Spec.Template.Spec, nil)
}

func projectJob(w writer, j *batchv1.Job) error {
	w.set("backoffLimit", strconv.Itoa(int(orPtr(j.Spec.BackoffLimit, 6))))
	return projectPod(w, &j.Spec.Template.Spec, nil)
}

// projectClaimTemplate keeps what decides the volume a pod gets: its class, access and size.
func projectClaimTemplate(w writer, c corev1.PersistentVolumeClaim) {
	w.set("storageClassName", orPtr(c.Spec.StorageClassName, "<cluster default>"))
	var modes []string
	for _, m := range c.Spec.AccessModes {
		modes = append(modes, string(m))
	}
	w.set("accessModes", set(modes))
	if size, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		w.set("size", quantity(size))
	}
}

// selector is a label selector in the canonical string form (requirements sorted).
func selector(s *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return sel.String()
}
