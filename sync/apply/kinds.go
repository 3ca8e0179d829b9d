package apply

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kind is one kind kaito-sync may write. The list is closed on purpose: whatever a workspace
// folder holds, nothing outside it reaches the cluster.
type kind struct {
	gvr        schema.GroupVersionResource
	namespaced bool
	// rank orders applies: what others reference first (ConfigMap/Secret/PVC), then Services, then
	// workloads; prunes run in reverse.
	rank int
	// optional kinds are watched only when this identity may list them (Manager.Start).
	optional bool
}

var kinds = map[schema.GroupVersionKind]kind{
	{Version: "v1", Kind: "ConfigMap"}:                  {schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true, 1, false},
	{Version: "v1", Kind: "Secret"}:                     {schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, true, 1, true},
	{Version: "v1", Kind: "PersistentVolumeClaim"}:      {schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, true, 1, false},
	{Version: "v1", Kind: "Service"}:                    {schema.GroupVersionResource{Version: "v1", Resource: "services"}, true, 2, false},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}: {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, true, 3, false},
	{Group: "apps", Version: "v1", Kind: "Deployment"}:  {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true, 3, false},
	{Group: "batch", Version: "v1", Kind: "Job"}:        {schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, true, 3, false},
}

func kindOf(gvk schema.GroupVersionKind) (kind, error) {
	k, ok := kinds[gvk]
	if !ok {
		return kind{}, fmt.Errorf("kind %s is not one kaito-sync applies", gvk)
	}
	return k, nil
}

// AllowedKinds lists the kinds kaito-sync writes, for RBAC and docs.
func AllowedKinds() []schema.GroupVersionKind {
	out := make([]schema.GroupVersionKind, 0, len(kinds))
	for gvk := range kinds {
		out = append(out, gvk)
	}
	return out
}
