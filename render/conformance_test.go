package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render/conformance"
)

// TestConformsToKaito renders each case of testdata/conformance (a Workspace with its companions,
// and the objects Kaito v0.12.0's own code creates for it) and fails on any difference in what
// runs: images, commands, env, ports, probes, resources, volumes, scheduling, Services, Jobs and
// ConfigMap data (the projection of render/conformance; testdata/conformance/README.md says what
// may differ). Objects declared in workspace.yaml (a companion PVC) may be rendered too.
func TestConformsToKaito(t *testing.T) {
	cases, err := filepath.Glob("testdata/conformance/*/kaito.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no conformance cases: %v", err)
	}
	for _, kaitoFile := range cases {
		dir := filepath.Dir(kaitoFile)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			is := is.New(t)
			want := projectFile(t, kaitoFile)
			input := filepath.Join(dir, "workspace.yaml")
			raw, err := os.ReadFile(input)
			is.NoErr(err)
			declared, err := conformance.DecodeYAML(raw)
			is.NoErr(err)
			var rendered []*unstructured.Unstructured
			for _, res := range renderFile(t, input) {
				rendered = append(rendered, res.Objects...)
			}
			got, err := conformance.Project(rendered)
			is.NoErr(err)
			if diff := conformance.Diff(want, got, conformance.Declared(declared)); len(diff) > 0 {
				t.Errorf("%s differs from what Kaito %s creates:\n%s", input, presets.KaitoVersion, strings.Join(diff, "\n"))
			}
		})
	}
}

func projectFile(t *testing.T, file string) conformance.Projection {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := conformance.DecodeYAML(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := conformance.Project(objs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
