package status

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kaito-sync/kaito-sync/sync/informers"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// watched are the kinds whose health makes a status. Secrets are left out on purpose: reading
// them would need rights kaito-sync's status has no use for.
var watched = map[string]schema.GroupVersionResource{
	"Pod":                   {Version: "v1", Resource: "pods"},
	"Service":               {Version: "v1", Resource: "services"},
	"ConfigMap":             {Version: "v1", Resource: "configmaps"},
	"PersistentVolumeClaim": {Version: "v1", Resource: "persistentvolumeclaims"},
	"StatefulSet":           {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"Deployment":            {Group: "apps", Version: "v1", Resource: "deployments"},
	"Job":                   {Group: "batch", Version: "v1", Resource: "jobs"},
}

// liveCluster is a Cluster read from watches of kaito-sync's own objects and pods: recomputing
// a status costs no request, and every change is an event. Its objects are trimmed to what a
// status reads (see kept), so they are not whole objects: nothing else should read them.
type liveCluster struct {
	informers map[string]cache.SharedIndexInformer
}

// watchCluster starts the watches, calls changed on every event and waits for the first list.
// selector gives the label selector of each kind's watch; objects are trimmed (see kept) before
// they enter the cache.
func watchCluster(ctx context.Context, cfg *rest.Config, selector func(kind string) string, changed func()) (*liveCluster, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "kaito-sync-status"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	// One factory per selector: a factory lists every resource with the same options.
	factories := map[string]dynamicinformer.DynamicSharedInformerFactory{}
	c := &liveCluster{informers: map[string]cache.SharedIndexInformer{}}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { changed() },
		UpdateFunc: func(any, any) { changed() },
		DeleteFunc: func(any) { changed() },
	}
	for kind, gvr := range watched {
		sel := selector(kind)
		factory, ok := factories[sel]
		if !ok {
			factory = dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, "", func(o *metav1.ListOptions) {
				o.LabelSelector = sel
			})
			factories[sel] = factory
		}
		inf := factory.ForResource(gvr).Informer()
		if err := inf.SetTransform(trimmer(kind)); err != nil {
			return nil, err
		}
		if kind == "Pod" {
			if err := inf.AddIndexers(cache.Indexers{workspaceIndex: podWorkspace}); err != nil {
				return nil, err
			}
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, err
		}
		c.informers[kind] = inf
	}
	refused, err := informers.Refusals(c.informers)
	if err != nil {
		return nil, err
	}
	for _, f := range factories {
		f.Start(ctx.Done())
	}
	if err := informers.WaitSynced(ctx, c.informers, refused); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	return c, nil
}

func (c *liveCluster) Get(kind, namespace, name string) (*unstructured.Unstructured, bool) {
	inf, ok := c.informers[kind]
	if !ok {
		return nil, false
	}
	obj, exists, err := inf.GetStore().GetByKey(namespace + "/" + name)
	if err != nil || !exists {
		return nil, false
	}
	u, ok := obj.(*unstructured.Unstructured)
	return u, ok
}

// workspaceIndex indexes pods by "namespace/workspace" (the pod's namespace and its workspace
// label). A status is computed for every workspace of a fleet, and scanning its namespace's pods
// for each one (copying every pod's labels on the way) made a status write of 1,000 workspaces
// allocate more than the whole sync.
const workspaceIndex = "workspace"

func podWorkspace(obj any) ([]string, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, nil
	}
	meta, _ := u.Object["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	ws, _ := labels[ownership.LabelWorkspace].(string)
	if ws == "" {
		return nil, nil
	}
	return []string{u.GetNamespace() + "/" + ws}, nil
}

func (c *liveCluster) Pods(namespace, workspace string) []*unstructured.Unstructured {
	objs, err := c.informers["Pod"].GetIndexer().ByIndex(workspaceIndex, namespace+"/"+workspace)
	if err != nil {
		return nil
	}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok && isWorkspacePod(u, namespace, workspace) {
			out = append(out, u)
		}
	}
	return out
}
