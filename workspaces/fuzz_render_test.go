package workspaces_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kaito-sync/kaito-sync/internal/crashguard"
	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces"
	"github.com/kaito-sync/kaito-sync/workspaces/ownership"
)

// FuzzRender feeds arbitrary files through load, check and the renderer: what the validator lets
// through must render, into objects kaito-sync may apply (allowed kinds, the workspace's own
// namespace, its ownership labels). Its seed corpus (testdata/fuzz/FuzzRender) is the examples. A
// workspace the validator passes and the renderer refuses would reach users as a render error on
// every sync; the fuzzer looks for one. (Determinism is render's TestRenderIsDeterministic: a second
// cold render here would halve the few executions a second a cold render allows.)
func FuzzRender(f *testing.F) {
	cat := presets.Default()
	r := render.New(cat) // its cache only serves an input seen before
	allowed := map[string]bool{}
	for _, gvk := range apply.AllowedKinds() {
		allowed[gvk.Kind] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := workspaces.Load(fstest.MapFS{"ws.yaml": {Data: data}}, ".", workspaces.Options{MaxNodes: 20_000})
		if err != nil {
			t.Fatal(err)
		}
		workspaces.Check(s, cat, workspaces.CheckOptions{})
		for _, p := range s.Problems {
			if strings.Contains(p.Message, crashguard.Bug) {
				t.Fatalf("a panic, caught: %s", p)
			}
		}
		comps := map[string]*workspaces.Companion{}
		for _, c := range s.Companions {
			comps[c.Key()] = c
		}
		for _, ws := range s.Valid() {
			var cs []*workspaces.Companion
			for _, ref := range workspaces.References(ws) {
				if c := comps[ref]; c != nil {
					cs = append(cs, c)
				}
			}
			src := render.Source{Path: "ws.yaml", Commit: "0123456789abcdef0123456789abcdef01234567"}
			out, err := r.Render(ws, cs, src)
			if err != nil {
				t.Fatalf("valid workspace %s does not render: %v", ws.Key(), err)
			}
			if len(out.Objects) == 0 {
				t.Fatalf("%s renders to nothing", ws.Key())
			}
			for _, o := range out.Objects {
				switch {
				case !allowed[o.GetKind()]:
					t.Fatalf("%s renders a %s, which kaito-sync never applies", ws.Key(), o.GetKind())
				case o.GetNamespace() != ws.Metadata.Namespace:
					t.Fatalf("%s renders %s %s into namespace %q", ws.Key(), o.GetKind(), o.GetName(), o.GetNamespace())
				case o.GetName() == "":
					t.Fatalf("%s renders a %s without a name", ws.Key(), o.GetKind())
				case o.GetLabels()[ownership.LabelManagedBy] != ownership.ManagedBy || o.GetLabels()[ownership.LabelWorkspace] != ws.Metadata.Name:
					t.Fatalf("%s renders %s %s without its ownership labels: %v", ws.Key(), o.GetKind(), o.GetName(), o.GetLabels())
				}
			}
		}
	})
}
