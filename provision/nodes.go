package provision

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ResourceGPU is the extended resource the NVIDIA device plugin advertises.
const ResourceGPU corev1.ResourceName = "nvidia.com/gpu"

// Assess says whether nodes meet a need: at least need.Count of them Ready, schedulable, with
// need.GPUsPerNode nvidia.com/gpu allocatable. Both provisioners judge readiness this one way,
// so "ready" means the same thing whoever made the nodes. expected names nodes that should exist
// (preferred nodes); those absent are reported as missing.
func Assess(nodes []corev1.Node, need Need, expected []string) NodeState {
	want := max(need.Count, 1)
	var good, notReady, cordoned, short []string
	seen := map[string]bool{}
	for i := range nodes {
		n := &nodes[i]
		seen[n.Name] = true
		gpus := n.Status.Allocatable[ResourceGPU]
		switch {
		case !nodeReady(n):
			notReady = append(notReady, n.Name)
		case n.Spec.Unschedulable:
			cordoned = append(cordoned, n.Name)
		case gpus.Value() < int64(need.GPUsPerNode):
			short = append(short, fmt.Sprintf("%s (%d of %d)", n.Name, gpus.Value(), need.GPUsPerNode))
		default:
			good = append(good, n.Name)
		}
	}
	var missing []string
	for _, name := range expected {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	for _, s := range [][]string{good, notReady, cordoned, short, missing} {
		sort.Strings(s)
	}
	if len(good) >= want {
		return NodeState{Ready: true, Reason: ReasonNodesReady, Nodes: good,
			Message: fmt.Sprintf("%d of %d nodes Ready with %d %s each: %s", len(good), want, need.GPUsPerNode, ResourceGPU, strings.Join(good, ", "))}
	}
	var why []string
	if len(missing) > 0 {
		why = append(why, "missing: "+strings.Join(missing, ", "))
	}
	if len(notReady) > 0 {
		why = append(why, "not Ready: "+strings.Join(notReady, ", "))
	}
	if len(cordoned) > 0 {
		why = append(why, "cordoned: "+strings.Join(cordoned, ", "))
	}
	if len(short) > 0 {
		why = append(why, fmt.Sprintf("too few %s allocatable: %s", ResourceGPU, strings.Join(short, ", ")))
	}
	reason := ReasonMissingNodes
	switch {
	case len(missing) > 0 || len(nodes) < want:
	case len(notReady) > 0 || len(cordoned) > 0:
		reason = ReasonNodesNotReady
	case len(short) > 0:
		reason = ReasonInsufficientGPU
	}
	if len(nodes) < want && len(missing) == 0 {
		why = append([]string{fmt.Sprintf("%d matching nodes found", len(nodes))}, why...)
	}
	return NodeState{Reason: reason, Nodes: slices.Clone(good),
		Message: fmt.Sprintf("%d of %d nodes Ready with %d %s each; %s", len(good), want, need.GPUsPerNode, ResourceGPU, strings.Join(why, "; "))}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
