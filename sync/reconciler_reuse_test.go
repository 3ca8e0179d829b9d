package sync

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// recordTarget is a folder target that keeps what each Apply was given.
type recordTarget struct {
	*Files
	last []apply.Workspace
}

func (r *recordTarget) Apply(ctx context.Context, wss []apply.Workspace) apply.ChangeSet {
	r.last = wss
	return r.Files.Apply(ctx, wss)
}

func (r *recordTarget) byKey() map[string]apply.Workspace {
	out := map[string]apply.Workspace{}
	for _, ws := range r.last {
		out[ws.Key] = ws
	}
	return out
}

// withoutCommit copies objs without the volatile source-commit annotation.
func withoutCommit(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		c := o.DeepCopy()
		unstructured.RemoveNestedField(c.Object, "metadata", "annotations", ownership.AnnotationSourceCommit)
		out[i] = c
	}
	return out
}

// TestSyncRendersOnlyChangedWorkspaces runs syncs of a changing tree and checks that only the
// workspaces whose render input or path changed are rendered, that Revision changes exactly for
// them, and that what the target gets equals, but for the source commit, what a new Reconciler
// renders from scratch.
func TestSyncRendersOnlyChangedWorkspaces(t *testing.T) {
	const (
		phiKey    = "default/workspace-phi-3-mini"
		falconKey = "default/qwen-coder-32b"
		qwenKey   = "dev-tools/qwen-coder"
	)
	phi := example(t, "inference/phi-3-mini.yaml")
	falcon := example(t, "multi-gpu/qwen-coder-32b-2-gpus.yaml")
	qwen, params, _ := strings.Cut(example(t, "inference/qwen-coder-vllm-config.yaml"), "---\n")
	phi2 := strings.Replace(phi, "Standard_NC6s_v3", "Standard_NC12s_v3", 1) // immutable: recreate key changes
	params2 := strings.Replace(params, "8192", "4096", 1)
	all := map[string]string{"phi.yaml": phi, "falcon.yaml": falcon, "qwen.yaml": qwen, "qwen-params.yaml": params}
	with := func(changes map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range all {
			out[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	steps := []struct {
		name    string
		files   map[string]string
		changed []string // workspaces rendered, whose Revision changes
		absent  []string // valid workspaces not applied
	}{
		{"first sync renders all", all, []string{phiKey, falconKey, qwenKey}, nil},
		{"a new commit of the same files renders none", all, nil, nil},
		{"one workspace changed renders it alone", with(map[string]string{"phi.yaml": phi2}), []string{phiKey}, nil},
		{"a changed companion renders its workspace", with(map[string]string{"phi.yaml": phi2, "qwen-params.yaml": params2}),
			[]string{qwenKey}, nil},
		{"a moved file renders its workspace", with(map[string]string{"phi.yaml": phi2, "qwen-params.yaml": params2,
			"falcon.yaml": "", "big/falcon.yaml": falcon}), []string{falconKey}, nil},
		{"an invalid workspace is not applied", with(map[string]string{"phi.yaml": strings.Replace(phi, "Standard_NC6s_v3", "Standard_X", 1)}),
			[]string{falconKey, qwenKey}, []string{phiKey}},
		{"and once valid is rendered again", all, []string{phiKey}, nil},
	}
	ctx := context.Background()
	src := &fixedSource{}
	target := &recordTarget{Files: &Files{FS: memfs.New()}}
	r := NewReconciler(src, target, presets.Default(), Options{})
	var before map[string]apply.Workspace
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			is := is.New(t)
			commit := "c" + string(rune('1'+i))
			src.set(commit, st.files)
			is.Equal(r.opts.Load.Cache == nil, i == 0) // no load cache before a second sync may use it
			res, err := r.SyncOnce(ctx)
			is.NoErr(err)
			is.Equal(len(res.RenderErrors), 0)
			is.Equal(res.Rendered, len(st.changed)) // only the changed workspaces were rendered
			now := target.byKey()
			is.Equal(len(r.rendered), len(now)) // what is no longer applied is forgotten
			for _, key := range st.absent {
				_, ok := now[key]
				is.True(!ok) // an invalid workspace is not applied
			}
			for key, ws := range now {
				is.True(ws.Revision != "")
				old, had := before[key]
				if !slicesContains(st.changed, key) {
					is.True(had)
					is.Equal(ws.Revision, old.Revision)                                                      // unchanged workspace, same revision
					is.True(reflect.ValueOf(ws.Objects).Pointer() == reflect.ValueOf(old.Objects).Pointer()) // reused, not copied
					continue
				}
				is.True(!had || ws.Revision != old.Revision) // changed workspace, new revision
				for _, o := range ws.Objects {
					is.Equal(o.GetAnnotations()[ownership.AnnotationSourceCommit], commit) // rendered now
				}
			}

			// What a fresh Reconciler renders from the same tree: the same but for the commit.
			fresh := &recordTarget{Files: &Files{FS: memfs.New()}}
			_, err = NewReconciler(src, fresh, presets.Default(), Options{}).SyncOnce(ctx)
			is.NoErr(err)
			is.Equal(len(fresh.last), len(target.last))
			for j, want := range fresh.last {
				got := target.last[j]
				is.Equal(got.Key, want.Key)
				is.Equal(got.Revision, want.Revision)
				is.Equal(withoutCommit(got.Objects), withoutCommit(want.Objects)) // same objects
			}
			before = now
		})
	}
}

// TestRevisionFollowsRecreateKey: the recreate stamp of reused objects is that of the workspace as
// it is now, which holds because the render hash covers what ImmutableKey reads.
func TestRevisionFollowsRecreateKey(t *testing.T) {
	is := is.New(t)
	phi := example(t, "inference/phi-3-mini.yaml")
	src := &fixedSource{}
	target := &recordTarget{Files: &Files{FS: memfs.New()}}
	r := NewReconciler(src, target, presets.Default(), Options{})
	keys := map[string]string{} // revision → recreate key
	for i, doc := range []string{phi, strings.Replace(phi, "Standard_NC6s_v3", "Standard_NC12s_v3", 1), phi, phi} {
		src.set("c"+string(rune('1'+i)), map[string]string{"phi.yaml": doc})
		_, err := r.SyncOnce(context.Background())
		is.NoErr(err)
		ws := target.last[0]
		key := ""
		for _, o := range ws.Objects {
			if k := o.GetAnnotations()[ownership.AnnotationRecreateKey]; k != "" {
				key = k
			}
		}
		is.True(key != "")
		if k, ok := keys[ws.Revision]; ok {
			is.Equal(k, key) // one revision, one recreate key
		}
		keys[ws.Revision] = key
	}
	is.Equal(len(keys), 2)
}
