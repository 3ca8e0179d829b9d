package sync

import (
	"context"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/matryer/is"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/presets"
)

// A hydrate target declares the namespaces of its workspaces (never "default"), marked so Flux and
// Argo CD never prune them, and drops the file with the namespace's last workspace.
func TestHydrateDeclaresNamespaces(t *testing.T) {
	ctx := context.Background()
	src := &fixedSource{}
	target := &Files{FS: memfs.New()}
	r := NewReconciler(src, target, presets.Default(), Options{AllowMassPrune: true})
	phi := example(t, "inference/phi-3-mini.yaml") // namespace default
	llama := example(t, "inference/llama-3.1-8b-gated.yaml")
	llama70 := example(t, "multi-gpu/llama-3.3-70b-multinode.yaml")

	is := is.New(t)
	src.set("c1", map[string]string{"phi.yaml": phi, "llama.yaml": llama, "llama70.yaml": llama70})
	res, err := r.SyncOnce(ctx)
	is.NoErr(err)
	is.True(!res.Failed())
	data, err := readFile(target.FS, "rendered/llm/namespace.yaml")
	is.NoErr(err)
	var ns map[string]any
	is.NoErr(yaml.Unmarshal(data, &ns))
	is.Equal(ns["kind"], "Namespace")
	md := ns["metadata"].(map[string]any)
	is.Equal(md["name"], "llm")
	ann := md["annotations"].(map[string]any)
	is.Equal(ann["kustomize.toolkit.fluxcd.io/prune"], "disabled")
	is.Equal(ann["argocd.argoproj.io/sync-options"], "Prune=false")
	_, err = readFile(target.FS, "rendered/default/namespace.yaml")
	is.True(err != nil) // every cluster has it
	for _, f := range files(t, target) {
		is.True(!strings.Contains(f, "Namespace")) // not in any workspace's inventory
	}

	src.set("c2", map[string]string{"phi.yaml": phi, "llama.yaml": llama})
	_, err = r.SyncOnce(ctx)
	is.NoErr(err)
	_, err = readFile(target.FS, "rendered/llm/namespace.yaml")
	is.NoErr(err) // one workspace is left there

	src.set("c3", map[string]string{"phi.yaml": phi})
	_, err = r.SyncOnce(ctx)
	is.NoErr(err)
	_, err = readFile(target.FS, "rendered/llm/namespace.yaml")
	is.True(err != nil)
	_, err = target.FS.Stat("rendered/llm")
	is.True(err != nil) // and the folder with it
}
