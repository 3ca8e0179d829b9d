package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/matryer/is"
	"sigs.k8s.io/yaml"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateExamplesAreValid(t *testing.T) {
	is := is.New(t)
	code, out, _ := runCLI("validate", "../../examples/workspaces")
	is.Equal(code, exitOK)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// No problem but the warnings of Kaito's V100 quick-start (a SKU Kaito v0.12.0 no longer lists).
	for _, l := range lines[:len(lines)-1] {
		is.True(strings.HasPrefix(l, "../../examples/workspaces/inference/phi-3-mini.yaml:")) // only the V100 quick-start warns
		is.True(strings.Contains(l, ": warning: "))
	}
	is.True(strings.HasPrefix(lines[len(lines)-1], "12 workspaces valid, 0 invalid in 12 files"))
}

func TestValidateBrokenExamples(t *testing.T) {
	is := is.New(t)
	code, out, _ := runCLI("validate", "../../examples/broken")
	is.Equal(code, exitInvalid)
	is.True(strings.Contains(out, "../../examples/broken/kaito-quickstart.yaml:30:9: default/workspace-phi-3-mini-adapter: inference.adapters[0].source.image: \"ACR_REPO_HERE\" is a placeholder"))
	is.True(strings.Contains(out, "../../examples/broken/typo.yaml:8:3: default/workspace-phi-4-mini: resource.instancetype: unknown field"))
	is.True(strings.HasSuffix(out, "1 workspace valid, 2 invalid in 2 files (3 errors, 2 warnings)\n")) // warnings: the quick-start's V100
}

func TestValidateQuickstartPassesOnceThePlaceholderIsReplaced(t *testing.T) {
	is := is.New(t)
	data, err := os.ReadFile("../../examples/broken/kaito-quickstart.yaml")
	is.NoErr(err)
	fixed := strings.Replace(string(data), "ACR_REPO_HERE.azurecr.io/ADAPTER_HERE:0.0.1", "myregistry.azurecr.io/adapter-phi3:0.0.1", 1)
	is.True(fixed != string(data))
	file := filepath.Join(t.TempDir(), "quickstart.yaml")
	is.NoErr(os.WriteFile(file, []byte(fixed), 0o644))
	code, out, _ := runCLI("validate", file)
	is.Equal(code, exitOK)
	is.True(strings.Contains(out, "2 workspaces valid, 0 invalid in 1 file"))
}

// A file that does not parse declares workspaces nobody can read: validate counts it invalid, as
// the sync's summary does (it said "0 invalid" beside the error while sync said "1 invalid").
func TestValidateCountsAnUnparsableFileInvalid(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	ok, err := os.ReadFile("../../examples/workspaces/inference/phi-3-mini.yaml")
	is.NoErr(err)
	is.NoErr(os.WriteFile(filepath.Join(dir, "ok.yaml"), ok, 0o644))
	is.NoErr(os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("kind: Workspace\nmetadata:\n  name: 'x\n---\n"), 0o644))
	code, out, _ := runCLI("validate", dir)
	is.Equal(code, exitInvalid)
	is.True(strings.Contains(out, "broken.yaml:4:3: invalid YAML: found unexpected document indicator"))
	is.True(strings.Contains(out, "1 workspace valid, 1 invalid in 2 files (1 error,"))
}

// A name declared in several files is reported once per extra declaration, and every path — the
// one a problem is at and the one its message points to — is shown as the user typed it: an
// absolute path keeps its leading slash, a relative one stays relative.
func TestValidateDuplicatePaths(t *testing.T) {
	data, err := os.ReadFile("../../examples/workspaces/inference/phi-3-mini.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"a.yaml", "b.yaml", "c.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rel, err := filepath.Rel(mustGetwd(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		root string // how the folder is shown
	}{
		{name: "absolute folder", args: []string{dir}, root: dir},
		{name: "relative folder", args: []string{rel}, root: rel},
		{name: "absolute files", args: []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "c.yaml")}, root: dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			code, out, _ := runCLI(append([]string{"validate"}, tt.args...)...)
			is.Equal(code, exitInvalid)
			var dups []string
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "declared") {
					dups = append(dups, l)
				}
			}
			first := filepath.Join(tt.root, "a.yaml") + ":4:1"
			is.Equal(dups, []string{
				filepath.Join(tt.root, "b.yaml") + ":4:1: default/workspace-phi-3-mini: metadata.name: Workspace default/workspace-phi-3-mini is declared 3 times: here and first at " + first,
				filepath.Join(tt.root, "c.yaml") + ":4:1: default/workspace-phi-3-mini: metadata.name: Workspace default/workspace-phi-3-mini is declared 3 times: here and first at " + first,
			})
		})
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestValidateJSON(t *testing.T) {
	is := is.New(t)
	code, out, _ := runCLI("validate", "-o", "json", "../../examples/broken")
	is.Equal(code, exitInvalid)
	var report validateReport
	is.NoErr(json.Unmarshal([]byte(out), &report))
	is.Equal(report.Summary, validateSummary{Valid: 1, Invalid: 2, Files: 2, Errors: 3, Warnings: 2})
	is.Equal(len(report.Problems), 5)                                        // 3 errors, and the V100 warning of each quick-start workspace
	is.Equal(report.Problems[2].Field, "inference.adapters[0].source.image") // after the two warnings of lines 7 and 20
	is.Equal(report.Problems[2].Line, 30)
	is.Equal(len(report.Workspaces), 3)
}

func TestValidateUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no path", []string{"validate"}, "at least one file or folder"},
		{"missing path", []string{"validate", "does-not-exist"}, "does-not-exist: no such file or folder"},
		{"bad output", []string{"validate", "-o", "xml", "."}, "unknown output format"},
		{"unknown flag", []string{"validate", "--frobnicate", "."}, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			code, _, errOut := runCLI(tt.args...)
			is.Equal(code, exitUsage)
			is.True(strings.Contains(errOut, tt.want))
		})
	}
}

func TestVersion(t *testing.T) {
	is := is.New(t)
	code, out, _ := runCLI("version")
	is.Equal(code, exitOK)
	is.True(strings.HasPrefix(out, "kaito-sync dev"))
	is.True(strings.HasSuffix(out, "follows Kaito v0.12.0\n")) // the Kaito release the workloads are those of
}

func TestVersionOutput(t *testing.T) {
	want := versionInfo{Version: "dev", Commit: buildCommit(), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Kaito: "v0.12.0"}
	tests := []struct {
		output string
		decode func([]byte, any) error
	}{
		{"json", json.Unmarshal},
		{"yaml", func(b []byte, v any) error { return yaml.UnmarshalStrict(b, v) }},
	}
	for _, tt := range tests {
		t.Run(tt.output, func(t *testing.T) {
			is := is.New(t)
			code, out, _ := runCLI("version", "-o", tt.output)
			is.Equal(code, exitOK)
			var got versionInfo
			is.NoErr(tt.decode([]byte(out), &got))
			is.Equal(got, want)
		})
	}
	t.Run("unknown", func(t *testing.T) {
		is := is.New(t)
		code, out, errOut := runCLI("version", "-o", "xml")
		is.Equal(code, exitUsage)
		is.Equal(out, "")
		is.True(strings.Contains(errOut, "use json or yaml"))
	})
}
