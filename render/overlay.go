package render

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The overlay of a workspace is a folder <namespace>/<name>/ holding one file per object Kaito would
// create for it (and the companions declared beside it), and a kustomization.yaml that puts them in
// the namespace, labels them as kaito-sync's and orders them for apply. The objects are written
// whole rather than as patches of a shared base: Kaito builds each one in code from the workspace,
// the model and the GPU, so a base would share little more than tolerations, and patches of it
// (container lists merged by name, a container named after the workspace) would make the output
// only approximately Kaito's.

// overlayWriter writes the overlay of one workspace.
type overlayWriter struct {
	in    *input
	dir   string
	files map[string][]byte
	kust  *kustomization
}

func (in *input) plan() (*entry, error) {
	name, ns := in.ws.Metadata.Name, in.ws.Metadata.Namespace
	w := &overlayWriter{in: in, dir: ns + "/" + name, files: map[string][]byte{}}
	w.kust = &kustomization{
		key:        ns + "/" + name,
		APIVersion: "kustomize.config.k8s.io/v1beta1",
		Kind:       "Kustomization",
		Namespace:  ns,
		Labels: []kLabel{{Pairs: map[string]string{
			ownership.LabelManagedBy:          ownership.ManagedBy,
			ownership.LabelWorkspace:          name,
			ownership.LabelWorkspaceNamespace: ns,
		}, IncludeTemplates: true}},
		SortOptions: applyOrder,
	}
	objs, err := in.objects()
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if err := w.object(o); err != nil {
			return nil, err
		}
	}
	if err := w.companions(); err != nil {
		return nil, err
	}
	e := &entry{dir: w.dir, files: w.files, planned: true}
	if e.kustWithSource, err = w.kust.marshal(true); err != nil {
		return nil, err
	}
	if e.kustNoSource, err = w.kust.marshal(false); err != nil {
		return nil, err
	}
	return e, nil
}

// generated is an object Kaito's controller would create, with what the overlay says about it.
type generated struct {
	obj     runtime.Object
	gvk     schema.GroupVersionKind
	name    string
	comment string
}

// object writes one generated object into the overlay as a resource.
func (w *overlayWriter) object(g generated) error {
	v, err := plain(g.obj)
	if err != nil {
		return fmt.Errorf("%s %s: %w", g.gvk.Kind, g.name, err)
	}
	m := v.(map[string]any)
	m["apiVersion"], m["kind"] = g.gvk.GroupVersion().String(), g.gvk.Kind
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok && len(meta) == 0 {
		delete(m, "metadata")
	}
	file := strings.ToLower(g.gvk.Kind) + "-" + g.name + ".yaml"
	if err := w.write(file, g.comment, m); err != nil {
		return err
	}
	w.kust.Resources = append(w.kust.Resources, file)
	return nil
}

// write adds a file to the overlay folder.
func (w *overlayWriter) write(name, comment string, v any) error {
	data, err := file(comment, v)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	w.files[path.Join(w.dir, name)] = data
	return nil
}

// companions adds the ConfigMaps, PVCs and Secrets the workspace owns to its overlay, so they are
// applied and pruned with it. One shared with other workspaces goes with the first owner only.
func (w *overlayWriter) companions() error {
	var files []string
	for _, c := range w.in.companions {
		if len(c.Owners) > 0 && c.Owners[0] != w.in.ws.Key() {
			continue
		}
		if c.KaitoDefault {
			g, err := defaultTuningConfigMap(c.Name, strings.TrimSuffix(c.Name, "-params-template"))
			if err != nil {
				return err
			}
			if err := w.object(g); err != nil {
				return err
			}
			continue
		}
		obj, err := plain(c.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Key(), err)
		}
		o := obj.(map[string]any)
		o["apiVersion"], o["kind"] = "v1", c.Kind
		delete(o, "status")
		if meta, ok := o["metadata"].(map[string]any); ok {
			for _, k := range []string{"creationTimestamp", "resourceVersion", "uid", "generation", "managedFields", "selfLink"} {
				delete(meta, k)
			}
		}
		prefix := map[string]string{"ConfigMap": "configmap", "PersistentVolumeClaim": "pvc", "Secret": "secret"}[c.Kind]
		name := prefix + "-" + c.Name + ".yaml"
		if err := w.write(name, fmt.Sprintf("%s %s, declared beside the workspace: applied and pruned with it.", c.Kind, c.Name), o); err != nil {
			return err
		}
		files = append(files, name)
	}
	slices.Sort(files)
	w.kust.Resources = append(w.kust.Resources, files...)
	return nil
}
