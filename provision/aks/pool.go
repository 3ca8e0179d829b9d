package aks

import (
	"fmt"
	"maps"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/kaito-sync/kaito-sync/provision"
)

// Node labels and taint Kaito puts on a workspace's nodes; the workload's affinity and
// tolerations expect them.
const (
	LabelWorkspace          = "kaito.sh/workspace"
	LabelWorkspaceNamespace = "kaito.sh/workspacenamespace"
	SKUTaint                = "sku=gpu:NoSchedule"
	// LabelAgentPool is the label AKS puts on every node of a pool.
	LabelAgentPool = "kubernetes.azure.com/agentpool"
)

// nodeLabels are the labels every node of the workspace's pool carries: the labelSelector's
// matchLabels and Kaito's two workspace labels.
func nodeLabels(need provision.Need) map[string]string {
	l := maps.Clone(need.Labels)
	if l == nil {
		l = map[string]string{}
	}
	ns, name, _ := strings.Cut(need.Workspace, "/")
	l[LabelWorkspace] = name
	l[LabelWorkspaceNamespace] = ns
	return l
}

// desiredPool is the agent pool a need asks for; root, when set, names the kaito-sync instance.
func desiredPool(need provision.Need, root string) armcontainerservice.AgentPool {
	tags := map[string]string{TagManagedBy: ManagedBy, TagWorkspace: need.Workspace}
	if root != "" {
		tags[TagRoot] = root
	}
	props := &armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Count:      to.Ptr(int32(max(need.Count, 1))),
		VMSize:     to.Ptr(need.InstanceType),
		Mode:       to.Ptr(armcontainerservice.AgentPoolModeUser),
		OSType:     to.Ptr(armcontainerservice.OSTypeLinux),
		Type:       to.Ptr(armcontainerservice.AgentPoolTypeVirtualMachineScaleSets),
		NodeLabels: ptrMap(nodeLabels(need)),
		NodeTaints: []*string{to.Ptr(SKUTaint)},
		Tags:       ptrMap(tags),
	}
	if need.DiskGiB > 0 {
		props.OSDiskSizeGB = to.Ptr(int32(need.DiskGiB))
	}
	return armcontainerservice.AgentPool{Properties: props}
}

// drift says how an existing pool differs from the desired one: replace when AKS cannot change
// the field in place (VM size, OS disk), update for what it can (count, labels).
func drift(have, want armcontainerservice.AgentPool) (replace, update string) {
	h, w := have.Properties, want.Properties
	if h == nil {
		return "", "pool has no properties"
	}
	if !strings.EqualFold(deref(h.VMSize), deref(w.VMSize)) {
		return fmt.Sprintf("VM size %s → %s", deref(h.VMSize), deref(w.VMSize)), ""
	}
	if w.OSDiskSizeGB != nil && h.OSDiskSizeGB != nil && *h.OSDiskSizeGB != *w.OSDiskSizeGB {
		return fmt.Sprintf("OS disk %d → %d GB", *h.OSDiskSizeGB, *w.OSDiskSizeGB), ""
	}
	var changes []string
	if deref(h.Count) != deref(w.Count) {
		changes = append(changes, fmt.Sprintf("count %d → %d", deref(h.Count), deref(w.Count)))
	}
	if !maps.Equal(valueMap(h.NodeLabels), valueMap(w.NodeLabels)) {
		changes = append(changes, "node labels")
	}
	return "", strings.Join(changes, ", ")
}

// owned reports whether a pool carries kaito-sync's tags — and, when root is set, this
// instance's root — and for which workspace. Two kaito-sync instances on one cluster must never
// collect each other's pools.
func owned(p *armcontainerservice.AgentPool, root string) (workspace string, ok bool) {
	if p == nil || p.Properties == nil {
		return "", false
	}
	t := valueMap(p.Properties.Tags)
	if t[TagManagedBy] != ManagedBy || t[TagWorkspace] == "" || (root != "" && t[TagRoot] != root) {
		return "", false
	}
	return t[TagWorkspace], true
}

func state(p *armcontainerservice.AgentPool) string {
	if p == nil || p.Properties == nil {
		return ""
	}
	return deref(p.Properties.ProvisioningState)
}

func ptrMap(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = to.Ptr(v)
	}
	return out
}

func valueMap(m map[string]*string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
