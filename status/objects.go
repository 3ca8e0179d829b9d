package status

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// health is kstatus's verdict on an object: kaito-sync does not write its own readiness rules.
func health(u *unstructured.Unstructured) (string, string) {
	r, err := kstatus.Compute(u)
	if err != nil {
		return string(kstatus.UnknownStatus), err.Error()
	}
	return string(r.Status), r.Message
}

func nodeName(pod *unstructured.Unstructured) string {
	n, _, _ := unstructured.NestedString(pod.Object, "spec", "nodeName")
	return n
}

// nodeNames are the nodes the pods run on and those the provisioner named, sorted, once each.
func nodeNames(pods []*unstructured.Unstructured, provisioned []string) []string {
	out := slices.Clone(provisioned)
	for _, p := range pods {
		if n := nodeName(p); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// podCondition returns the message of the pod's condition t when its status is s.
func podCondition(pod *unstructured.Unstructured, t, s string) (string, bool) {
	conds, _, _ := unstructured.NestedSlice(pod.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == t && m["status"] == s {
			msg, _ := m["message"].(string)
			if msg == "" {
				msg, _ = m["reason"].(string)
			}
			return msg, true
		}
	}
	return "", false
}

// jobCondition reports whether the job's condition t is True.
func jobCondition(job *unstructured.Unstructured, t string) bool {
	if job == nil {
		return false
	}
	conds, _, _ := unstructured.NestedSlice(job.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == t && m["status"] == "True" {
			return true
		}
	}
	return false
}

// podTrouble names the first container that waits for a reason a person must act on (an image
// that cannot be pulled, a crash loop), which kstatus's "Ready: 0/1" does not say.
func podTrouble(pods []*unstructured.Unstructured) string {
	benign := map[string]bool{"": true, "ContainerCreating": true, "PodInitializing": true}
	for _, p := range pods {
		for _, field := range []string{"initContainerStatuses", "containerStatuses"} {
			statuses, _, _ := unstructured.NestedSlice(p.Object, "status", field)
			for _, s := range statuses {
				m, ok := s.(map[string]any)
				if !ok {
					continue
				}
				reason, _, _ := unstructured.NestedString(m, "state", "waiting", "reason")
				if benign[reason] {
					continue
				}
				msg, _, _ := unstructured.NestedString(m, "state", "waiting", "message")
				return fmt.Sprintf("pod %s container %v: %s %s", p.GetName(), m["name"], reason, msg)
			}
		}
	}
	return ""
}
