package syncloop

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/presets"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// What hydrate mode writes applies to a cluster that has never seen the namespace, as Flux or Argo
// CD would apply it (Namespaces first, then the rest); without its Namespace file the same folder
// is refused, which is what happened before hydrate output declared them.
func TestHydratedFolderAppliesToANewCluster(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := fmt.Sprintf("hydrated-%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = env.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	repo := t.TempDir()
	is.NoErr(os.MkdirAll(filepath.Join(repo, "workspaces"), 0o755))
	is.NoErr(os.WriteFile(filepath.Join(repo, "workspaces", "phi.yaml"), []byte(strings.ReplaceAll(phi3, "NAMESPACE", ns)), 0o644))
	out := t.TempDir()
	target, err := ksync.NewFolder(out, false)
	is.NoErr(err)
	res, err := ksync.NewReconciler(source.Local{Dir: repo, Path: "workspaces"}, target, presets.Default(),
		ksync.Options{Logger: slog.New(slog.DiscardHandler)}).SyncOnce(ctx)
	is.NoErr(err)
	is.True(!res.Failed())

	var nsFile string
	var rest []string
	is.NoErr(filepath.WalkDir(filepath.Join(out, ksync.RenderedDir), func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil || d.IsDir():
		case filepath.Base(p) == "namespace.yaml":
			nsFile = p
		default:
			rest = append(rest, p)
		}
		return err
	}))
	is.True(nsFile != "")
	is.True(len(rest) > 0)
	dyn, err := dynamic.NewForConfig(env.Config)
	is.NoErr(err)

	err = applyFile(ctx, dyn, rest[0])
	is.True(apierrors.IsNotFound(err)) // the control: no namespace, no apply

	for _, p := range slices.Concat([]string{nsFile}, rest) {
		if err := applyFile(ctx, dyn, p); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
}

// applyFile server-side applies one manifest file, as a GitOps engine would.
func applyFile(ctx context.Context, dyn dynamic.Interface, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var o unstructured.Unstructured
	if err := yaml.Unmarshal(data, &o.Object); err != nil {
		return err
	}
	resources := map[string]string{"Namespace": "namespaces", "Service": "services", "StatefulSet": "statefulsets", "ConfigMap": "configmaps", "Job": "jobs", "Deployment": "deployments"}
	gv, err := schema.ParseGroupVersion(o.GetAPIVersion())
	if err != nil {
		return err
	}
	r := dyn.Resource(gv.WithResource(resources[o.GetKind()]))
	opts := metav1.ApplyOptions{FieldManager: "gitops-engine", Force: true}
	if o.GetNamespace() == "" {
		_, err = r.Apply(ctx, o.GetName(), &o, opts)
	} else {
		_, err = r.Namespace(o.GetNamespace()).Apply(ctx, o.GetName(), &o, opts)
	}
	return err
}
