// Package planlive proves `kaito-sync plan --live` end to end: objects applied for real, drift
// made by hand as kubectl would, then a plan against the live cluster that reports the drift and
// changes nothing.
package planlive

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/plan"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/test/e2e/fixtures"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

const phi3 = fixtures.Phi3Mini

func TestLivePlanReportsKubectlDrift(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	fsys := fstest.MapFS{"phi-3.yaml": &fstest.MapFile{Data: []byte(strings.ReplaceAll(phi3, "NAMESPACE", ns))}}
	snap := source.Snapshot{Commit: "1111111111111111111111111111111111111111", Tree: fsys, Path: "workspaces"}
	cat := presets.Default()

	// Apply the workspace for real, as kaito-sync sync would.
	set, err := workspaces.Load(fsys, ".", workspaces.Options{PathPrefix: snap.Path}) // as sync and plan name files
	is.NoErr(err)
	valid := set.Valid()
	is.Equal(len(valid), 1)
	res, err := render.New(cat).Render(valid[0], nil, render.Source{Path: valid[0].Source.Path})
	is.NoErr(err)
	root := apply.RootID(t.Name())
	syncer, err := apply.New(env.Config, apply.Options{Root: root})
	is.NoErr(err)
	is.NoErr(syncer.Start(ctx))
	cs := syncer.Apply(ctx, apply.Workspace{Key: ns + "/phi-3", Objects: res.Objects})
	for _, c := range cs.Entries {
		is.NoErr(c.Err)
	}

	livePlan := func() *plan.Plan {
		t.Helper()
		p, err := plan.Compute(snap, snap, cat, plan.Options{})
		is.NoErr(err)
		m, err := apply.New(env.Config, apply.Options{Root: root, DryRun: true})
		is.NoErr(err)
		is.NoErr(p.CheckLive(ctx, m))
		var out bytes.Buffer
		is.NoErr(plan.WriteText(&out, p))
		t.Log(out.String())
		return p
	}

	// Right after the apply, the cluster matches head.
	p := livePlan()
	is.True(!p.HasChanges())
	is.True(!p.LiveDiffers())
	is.True(!p.LiveErrors())

	// Drift made by hand: the first env var kaito-sync set (or the image), as kubectl edit would.
	// Retried on conflict: the StatefulSet controller writes status between our read and write.
	wantText := "edited-by-hand"
	var edited *appsv1.StatefulSet
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sts, err := env.Client.AppsV1().StatefulSets(ns).Get(ctx, "phi-3", metav1.GetOptions{})
		if err != nil {
			return err
		}
		c := &sts.Spec.Template.Spec.Containers[0]
		if len(c.Env) > 0 {
			c.Env[0].Value = wantText
			c.Env[0].ValueFrom = nil
		} else {
			c.Image = "registry.example/" + wantText + ":1"
		}
		edited, err = env.Client.AppsV1().StatefulSets(ns).Update(ctx, sts, metav1.UpdateOptions{})
		return err
	})
	is.NoErr(err)

	p = livePlan()
	is.True(p.LiveDiffers())
	is.True(!p.LiveErrors())
	var found bool
	for _, w := range p.Workspaces {
		for _, o := range w.Live {
			t.Logf("%s %s %s", w.Key, o.Action, o.Ref())
			if o.Kind == "StatefulSet" {
				found = true
				is.Equal(o.Action, apply.LiveDrifted)
				is.True(strings.Contains(o.Diff, "-"+"          value: "+wantText) || strings.Contains(o.Diff, wantText)) // the live value, on the removed side
			} else {
				is.Equal(o.Action, apply.LiveInSync)
			}
		}
	}
	is.True(found)
	var out bytes.Buffer
	is.NoErr(plan.WriteText(&out, p))
	is.True(strings.Contains(out.String(), "Live cluster"))
	is.True(strings.Contains(out.String(), "drifted StatefulSet "+ns+"/phi-3"))

	// The plan changed nothing.
	after, err := env.Client.AppsV1().StatefulSets(ns).Get(ctx, "phi-3", metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(after.Generation, edited.Generation) // the controller may write status; the spec stays
	is.Equal(after.Spec.Template.Spec.Containers[0], edited.Spec.Template.Spec.Containers[0])
}
