package render

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/render/kustomizetest"
)

// The overlays kaito-sync writes build, with the plain kustomize CLI, into exactly the objects
// kaito-sync builds in memory: for every golden case.
func TestKustomizeCLIBuildsTheSameObjects(t *testing.T) {
	bin := kustomizetest.Binary(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			for _, res := range renderFile(t, tc.input) {
				dir := t.TempDir()
				kustomizetest.WriteFiles(t, dir, res.Overlay)
				cli, err := NormalizeYAML(kustomizetest.Build(t, bin, filepath.Join(dir, res.OverlayDir())))
				is.NoErr(err)
				ours, err := MarshalObjects(res.Objects)
				is.NoErr(err)
				if !bytes.Equal(cli, ours) {
					t.Fatalf("kustomize build %s differs from kaito-sync's build:\n%s", res.OverlayDir(), firstDiff(string(cli), string(ours)))
				}
			}
		})
	}
}

// The comparison above must be able to fail: a changed overlay file gives other objects.
func TestKustomizeCLIComparisonCanFail(t *testing.T) {
	is := is.New(t)
	bin := kustomizetest.Binary(t)
	res := renderFile(t, "testdata/conformance/01-phi-4-mini-vllm/workspace.yaml")[0]
	files := map[string][]byte{}
	for p, b := range res.Overlay {
		files[p] = b
	}
	p := res.OverlayDir() + "/statefulset-workspace-phi-4-mini.yaml"
	files[p] = bytes.Replace(files[p], []byte("replicas: 1"), []byte("replicas: 3"), 1)
	dir := t.TempDir()
	kustomizetest.WriteFiles(t, dir, files)
	cli, err := NormalizeYAML(kustomizetest.Build(t, bin, filepath.Join(dir, res.OverlayDir())))
	is.NoErr(err)
	ours, err := MarshalObjects(res.Objects)
	is.NoErr(err)
	is.True(!bytes.Equal(cli, ours))
}

// The binary is the release built on the kustomize api kaito-sync links.
func TestKustomizeCLIVersion(t *testing.T) {
	is := is.New(t)
	bin := kustomizetest.Binary(t)
	out, err := exec.Command(bin, "version").Output()
	is.NoErr(err)
	is.Equal(strings.TrimSpace(string(out)), kustomizetest.Version)
}
