package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// RenderedDir is the folder of rendered manifests in a hydrate target.
const RenderedDir = "rendered"

// Files is a hydrate target: each workspace's objects as plain YAML files under
// rendered/<namespace>/<name>/<Kind>.<object>.yaml, for Flux, Argo CD or kubectl to apply. Files of
// workspaces Git no longer declares are removed (Argo CD's source hydrator leaves them behind).
type Files struct {
	FS billy.Filesystem
	// DryRun reports what would be written and removed, and writes and removes nothing.
	DryRun bool
	// edit, when set, records every file written and removed, for a Git target to commit.
	edit *gitbranch.Edit
}

// NewFolder is a Files target on a local folder. A dry run does not even create the folder.
func NewFolder(dir string, dryRun bool) (*Files, error) {
	if !dryRun {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	return &Files{FS: osfs.New(dir), DryRun: dryRun}, nil
}

func (f *Files) Begin(context.Context, source.Snapshot) error  { return nil }
func (f *Files) Finish(context.Context, source.Snapshot) error { return nil }

// namespaceFile holds the Namespace of the workspaces under rendered/<namespace>/: Flux and Argo CD
// apply a folder to a new cluster only if its namespaces exist, and neither creates them by itself.
func namespaceFile(ns string) string { return path.Join(RenderedDir, ns, "namespace.yaml") }

// namespaceObject is the Namespace a hydrate target declares. Its annotations keep Flux and Argo CD
// from ever pruning it: a namespace holds what kaito-sync never rendered (Secrets, ConfigMaps, other
// apps), and deleting it deletes them all. Removing the last workspace of a namespace removes the
// file, not the namespace.
func namespaceObject(ns string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion("v1")
	o.SetKind("Namespace")
	o.SetName(ns)
	o.SetLabels(map[string]string{ownership.LabelManagedBy: ownership.ManagedBy})
	o.SetAnnotations(map[string]string{
		"kustomize.toolkit.fluxcd.io/prune": "disabled",
		"argocd.argoproj.io/sync-options":   "Prune=false",
	})
	return o
}

// alwaysThere are namespaces every cluster has: declaring them would only make a GitOps engine
// claim them.
var alwaysThere = map[string]bool{"default": true}

func objectFile(wsKey string, ref apply.ObjectRef) string {
	return path.Join(RenderedDir, wsKey, ref.Kind+"."+ref.Name+".yaml")
}

func (f *Files) Inventory(context.Context) (map[string][]apply.ObjectRef, error) {
	out := map[string][]apply.ObjectRef{}
	namespaces, err := f.FS.ReadDir(RenderedDir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, ns := range namespaces {
		if !ns.IsDir() {
			continue
		}
		names, err := f.FS.ReadDir(path.Join(RenderedDir, ns.Name()))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if !n.IsDir() { // namespace.yaml
				continue
			}
			files, err := f.FS.ReadDir(path.Join(RenderedDir, ns.Name(), n.Name()))
			if err != nil {
				return nil, err
			}
			key := ns.Name() + "/" + n.Name()
			for _, file := range files {
				kind, name, ok := strings.Cut(strings.TrimSuffix(file.Name(), ".yaml"), ".")
				if ok && !file.IsDir() && strings.HasSuffix(file.Name(), ".yaml") {
					out[key] = append(out[key], apply.ObjectRef{Kind: kind, Namespace: ns.Name(), Name: name})
				}
			}
		}
	}
	return out, nil
}

func (f *Files) Apply(_ context.Context, wss []apply.Workspace) apply.ChangeSet {
	var cs apply.ChangeSet
	namespaces := map[string]bool{}
	for _, ws := range wss {
		if ns, _, ok := strings.Cut(ws.Key, "/"); ok && !alwaysThere[ns] {
			namespaces[ns] = true
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		ref := apply.ObjectRef{Kind: "Namespace", Name: ns}
		c := apply.Change{Object: ref}
		c.Action, c.Err = f.write(namespaceFile(ns), namespaceObject(ns))
		if c.Err != nil {
			c.Action, c.Err = apply.Failed, fmt.Errorf("%s write failed: %w", ref, c.Err)
		}
		cs.Add(c)
	}
	for _, ws := range wss {
		for _, o := range ws.Objects {
			ref := apply.RefOf(o)
			c := apply.Change{Object: ref, Workspace: ws.Key}
			c.Action, c.Err = f.write(objectFile(ws.Key, ref), o)
			if c.Err != nil {
				c.Action, c.Err = apply.Failed, fmt.Errorf("%s write failed: %w", ref, c.Err)
			}
			cs.Add(c)
		}
	}
	return cs
}

// write stores an object unless the file already holds it up to the volatile annotations, so a
// commit that does not touch a workspace leaves its files, and the hydrated branch, untouched.
func (f *Files) write(name string, o *unstructured.Unstructured) (apply.Action, error) {
	data, err := yaml.Marshal(o.Object)
	if err != nil {
		return "", err
	}
	old, err := readFile(f.FS, name)
	switch {
	case err == nil && bytes.Equal(stripVolatile(old), stripVolatile(data)):
		return apply.Unchanged, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	action := apply.Configured
	if err != nil {
		action = apply.Created
	}
	if f.DryRun {
		return action, nil
	}
	if err := f.FS.MkdirAll(path.Dir(name), 0o755); err != nil {
		return "", err
	}
	w, err := f.FS.Create(name)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if f.edit != nil {
		f.edit.Files[name] = data
	}
	return action, nil
}

// remove removes a file (one already gone is no error) and records it.
func (f *Files) remove(name string) error {
	if err := f.FS.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if f.edit != nil {
		delete(f.edit.Files, name)
		f.edit.Remove = append(f.edit.Remove, name)
	}
	return nil
}

func readFile(fsys billy.Filesystem, name string) ([]byte, error) {
	r, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func stripVolatile(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	lines = slices.DeleteFunc(lines, func(l []byte) bool {
		for _, a := range ownership.VolatileAnnotations {
			if bytes.HasPrefix(bytes.TrimSpace(l), []byte(a+":")) {
				return true
			}
		}
		return false
	})
	return bytes.Join(lines, []byte("\n"))
}

func (f *Files) Delete(_ context.Context, wsKey string, refs []apply.ObjectRef) apply.ChangeSet {
	var cs apply.ChangeSet
	for _, ref := range refs {
		c := apply.Change{Object: ref, Workspace: wsKey, Action: apply.Deleted}
		if f.DryRun {
			cs.Add(c)
			continue
		}
		if err := f.remove(objectFile(wsKey, ref)); err != nil {
			c.Action, c.Err = apply.Failed, fmt.Errorf("%s delete failed: %w", ref, err)
		}
		cs.Add(c)
	}
	if f.DryRun {
		return cs
	}
	// Empty folders of removed workspaces go too (Git cannot hold them, a folder can), and the
	// Namespace file with the last workspace of its namespace.
	dir := path.Join(RenderedDir, wsKey)
	if entries, err := f.FS.ReadDir(dir); err == nil && len(entries) == 0 {
		_ = f.FS.Remove(dir)
		nsDir := path.Dir(dir)
		if entries, err := f.FS.ReadDir(nsDir); err == nil && !slices.ContainsFunc(entries, fs.FileInfo.IsDir) {
			_ = f.remove(namespaceFile(path.Base(nsDir)))
			_ = f.FS.Remove(nsDir)
		}
	}
	return cs
}
