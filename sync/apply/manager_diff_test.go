package apply

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func liveActions(ds []LiveDiff) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Object.Kind+"/"+d.Object.Name+"="+string(d.Action))
	}
	return strings.Join(s, " ")
}

func TestDryRunDiffReportsDriftAndPersistsNothing(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	ws := Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{
		deployment(t, ns, "ws", "ws"), configMap(t, ns, "ws-config", "one"),
	}}
	cs := m.Apply(ctx, ws)
	is.Equal(actions(cs), "ConfigMap/ws-config=created Deployment/ws=created")

	// A Manager of another root, not started: the dry run needs no watch, and compares existing
	// objects as the root they carry.
	other, err := New(env.Config, Options{Root: RootID("elsewhere")})
	is.NoErr(err)
	ds := other.DryRunDiff(ctx, ws)
	is.Equal(liveActions(ds), "ConfigMap/ws-config=in-sync Deployment/ws=in-sync")
	for _, d := range ds {
		is.NoErr(d.Err)
	}

	// Drift made by hand, as kubectl edit would.
	cm, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ws-config", metav1.GetOptions{})
	is.NoErr(err)
	cm.Data["key"] = "edited"
	_, err = env.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
	is.NoErr(err)
	before, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ws-config", metav1.GetOptions{})
	is.NoErr(err)

	added := configMap(t, ns, "ws-new", "x")
	invalid := deployment(t, ns, "ws-bad", "Not_A_Valid_Label!")
	ws.Objects = append(ws.Objects, added, invalid)
	ds = m.DryRunDiff(ctx, ws)
	is.Equal(liveActions(ds), "ConfigMap/ws-config=drifted ConfigMap/ws-new=would-create Deployment/ws=in-sync Deployment/ws-bad=error")
	drift := ds[0]
	is.Equal(drift.Want.Object["data"], map[string]any{"key": "one"})
	is.Equal(drift.Have.Object["data"], map[string]any{"key": "edited"})
	is.True(ds[1].Have == nil)
	is.True(apierrors.IsInvalid(ds[3].Err)) // only the API server checks label values

	// Nothing was written.
	after, err := env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ws-config", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(after.ResourceVersion, before.ResourceVersion)
	is.Equal(after.Data["key"], "edited")
	_, err = env.Client.CoreV1().ConfigMaps(ns).Get(ctx, "ws-new", metav1.GetOptions{})
	is.True(apierrors.IsNotFound(err))
	_, err = env.Client.AppsV1().Deployments(ns).Get(ctx, "ws-bad", metav1.GetOptions{})
	is.True(apierrors.IsNotFound(err))
}

func TestDryRunDiffMissingNamespaceAndForeignObject(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	m := newManager(t, Options{})
	_, err := env.Client.CoreV1().ConfigMaps(ns).Create(ctx, configMapTyped(ns, "theirs"), metav1.CreateOptions{})
	is.NoErr(err)
	missing := "planlive-missing-" + RootID(t.Name())[1:9]
	ds := m.DryRunDiff(ctx, Workspace{Key: ns + "/ws", Objects: []*unstructured.Unstructured{
		configMap(t, ns, "theirs", "v"), configMap(t, missing, "c", "v"),
	}})
	is.Equal(liveActions(ds), "ConfigMap/theirs=error ConfigMap/c=would-create")
	is.True(errors.Is(ds[0].Err, ErrNotOwned))
	is.True(strings.Contains(ds[1].Reason, "would be created"))
	is.Equal(ds[1].Want.GetNamespace(), missing)
	_, err = env.Client.CoreV1().Namespaces().Get(ctx, missing, metav1.GetOptions{})
	is.True(apierrors.IsNotFound(err))
	_, err = env.Client.CoreV1().ConfigMaps("default").Get(ctx, "c", metav1.GetOptions{})
	is.True(apierrors.IsNotFound(err))
}
