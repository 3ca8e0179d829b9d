package status

import (
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Cluster is what Compute reads of the cluster. A nil Cluster means there is none (hydrate mode).
type Cluster interface {
	// Get returns the live object of kind ("StatefulSet", "Service", ...), or false.
	Get(kind, namespace, name string) (*unstructured.Unstructured, bool)
	// Pods returns the pods of a workspace's workloads.
	Pods(namespace, workspace string) []*unstructured.Unstructured
}

// Objects is a Cluster made of a fixed list of objects: a snapshot, or a test's fixture.
type Objects []*unstructured.Unstructured

func (os Objects) Get(kind, namespace, name string) (*unstructured.Unstructured, bool) {
	for _, o := range os {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o, true
		}
	}
	return nil, false
}

func (os Objects) Pods(namespace, workspace string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range os {
		if o.GetKind() == "Pod" && o.GetNamespace() == namespace && isWorkspacePod(o, namespace, workspace) {
			out = append(out, o)
		}
	}
	return out
}

func isWorkspacePod(o *unstructured.Unstructured, namespace, workspace string) bool {
	l := o.GetLabels()
	if l[ownership.LabelWorkspace] != workspace {
		return false
	}
	// Pods of older renders may lack the namespace label; the pod's own namespace then decides.
	ns, ok := l[ownership.LabelWorkspaceNamespace]
	return !ok || ns == namespace
}
