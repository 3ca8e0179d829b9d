package status

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Labels kaito-sync puts on every object it applies and on the pods of its workloads. They are
// repeated here, not imported from render or apply, so this package depends on neither.
const (
	labelManagedBy          = "app.kubernetes.io/managed-by"
	managedBy               = "kaito-sync"
	labelWorkspace          = "kaito.sh/workspace"
	labelWorkspaceNamespace = "kaito.sh/workspacenamespace"
	// labelSyncRoot is on applied objects only, not on pods (see ReporterOptions.Root).
	labelSyncRoot = "kaito.sh/sync-root"
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
	if l[labelWorkspace] != workspace {
		return false
	}
	// Pods of older renders may lack the namespace label; the pod's own namespace then decides.
	ns, ok := l[labelWorkspaceNamespace]
	return !ok || ns == namespace
}
