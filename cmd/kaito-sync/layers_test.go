package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// layers orders the module's packages: a package imports only packages of lower layers (tests
// aside). A rule that lived only in CONTRIBUTING.md would be broken by the first convenient
// import; a package this table does not know fails the test until it is given its place.
var layers = [][]string{
	// mechanisms every layer may use
	{"internal/crashguard", "internal/ctxwait"},
	// leaves: each needs nothing of ours but those
	{"workspaces/ownership", "sync/gitbranch", "sync/informers", "sync/trigger",
		"provision", "render/conformance", "render/kustomizetest"},
	{"presets"},
	{"workspaces"},
	{"render", "sync/apply"},
	{"sync/source", "provision/aks", "provision/byo"},
	{"sync", "provision/aks/akstest"},
	{"sync/plan", "sync/leader", "sync/metrics", "status"},
	{"status/branch"},
	{"cmd/kaito-sync", "bench", "test/e2e/gitserver", "test/e2e/fixtures"},
	{"test/e2e/testenv"},
	{"test/e2e", "test/e2e/faults", "test/e2e/ha", "test/e2e/planlive", "test/e2e/provisioning",
		"test/e2e/rbac", "test/e2e/statusbranch", "test/e2e/syncloop"},
}

func TestPackagesImportOnlyLowerLayers(t *testing.T) {
	is := is.New(t)
	const module = "github.com/kaito-sync/kaito-sync/"
	rank := map[string]int{}
	for i, layer := range layers {
		for _, pkg := range layer {
			if _, twice := rank[pkg]; twice {
				t.Fatalf("%s is in two layers", pkg)
			}
			rank[pkg] = i
		}
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, repoRoot+"/...").Output()
	is.NoErr(err)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		r, ok := rank[pkg]
		if !ok {
			t.Errorf("package %s has no layer: add it to layers in layers_test.go", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			if d, known := rank[dep]; known && d >= r {
				t.Errorf("%s (layer %d) imports %s (layer %d): a package imports only lower layers", pkg, r, dep, d)
			}
		}
	}
}
