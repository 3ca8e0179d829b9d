package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/render/kustomizetest"
)

const examples = "../../examples/workspaces"

// workloads counts the StatefulSets and Jobs in a YAML stream.
func workloads(yamlOut string) int {
	return strings.Count(yamlOut, "\nkind: StatefulSet\n") + strings.Count(yamlOut, "\nkind: Job\n")
}

func TestRenderPrintsObjects(t *testing.T) {
	is := is.New(t)
	code, out, errOut := runCLI("render", "--commit", "0123abcd", examples)
	is.Equal(code, exitOK)
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") { // only the V100 quick-start's warnings
		is.True(l == "" || strings.HasPrefix(l, "../../examples/workspaces/inference/phi-3-mini.yaml:") && strings.Contains(l, ": warning: "))
	}
	is.Equal(workloads(out), 12) // one workload per example workspace
	is.True(strings.HasPrefix(out, "---\napiVersion: v1\nkind: Service\n"))
	is.True(strings.Contains(out, "kaito-sync/source-commit: 0123abcd\n"))
	is.True(strings.Contains(out, "kaito-sync/source-path: ../../examples/workspaces/inference/phi-3-mini.yaml\n"))
	normalized, err := render.NormalizeYAML([]byte(out))
	is.NoErr(err)
	is.Equal(string(normalized), out) // the output is already in its normal form

	code, again, _ := runCLI("render", "--commit", "0123abcd", examples)
	is.Equal(code, exitOK)
	is.Equal(again, out) // deterministic
}

func TestRenderJSON(t *testing.T) {
	is := is.New(t)
	code, out, _ := runCLI("render", "-o", "json", examples+"/tuning")
	is.Equal(code, exitOK)
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	is.NoErr(json.Unmarshal([]byte(out), &list))
	is.Equal(list.Kind, "List")
	var kinds []string
	for _, it := range list.Items {
		kinds = append(kinds, it.Kind+"/"+it.Metadata.Name)
	}
	is.Equal(kinds, []string{
		"ConfigMap/qlora-params-template", "Job/workspace-tuning-phi-3", // default/…: Kaito's default QLoRA config
		"ConfigMap/phi-3-lora-params", "PersistentVolumeClaim/tuning-input", "PersistentVolumeClaim/tuning-output",
		"Job/workspace-tuning-phi-3-lora", // tuning/…
	})
}

// render --out writes overlays that the kustomize CLI builds into exactly what render prints.
func TestRenderOutBuildsWithKustomize(t *testing.T) {
	is := is.New(t)
	bin := kustomizetest.Binary(t)
	dir := t.TempDir()
	code, out, _ := runCLI("render", "--commit", "0123abcd", "--out", dir, examples)
	is.Equal(code, exitOK)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	is.Equal(len(lines), 12)

	code, printed, _ := runCLI("render", "--commit", "0123abcd", examples)
	is.Equal(code, exitOK)
	// The workspaces are listed (and printed) in key order: building each listed folder in turn
	// gives the printed stream.
	var built bytes.Buffer
	for _, line := range lines {
		_, cmd, ok := strings.Cut(line, ": kustomize build ")
		is.True(ok)
		built.WriteString("---\n")
		built.Write(kustomizetest.Build(t, bin, cmd))
	}
	normalized, err := render.NormalizeYAML(built.Bytes())
	is.NoErr(err)
	is.Equal(string(normalized), printed)

	_, err = os.Stat(filepath.Join(dir, "default", "workspace-phi-3-mini", "statefulset-workspace-phi-3-mini.yaml")) // one file per object
	is.NoErr(err)
}

func TestRenderRefusesInvalidFiles(t *testing.T) {
	is := is.New(t)
	code, out, errOut := runCLI("render", "../../examples/broken")
	is.Equal(code, exitInvalid)
	is.Equal(out, "") // nothing rendered, not even the valid workspace
	is.True(strings.Contains(errOut, `"ACR_REPO_HERE" is a placeholder`))
	is.True(strings.Contains(errOut, "nothing rendered"))
}

func TestRenderSecretsNeedOptIn(t *testing.T) {
	is := is.New(t)
	file := "../../render/testdata/llama3-gated-secret.yaml"
	code, _, errOut := runCLI("render", file)
	is.Equal(code, exitInvalid)
	is.True(strings.Contains(errOut, "plain-text Secrets do not belong in Git"))
	code, out, _ := runCLI("render", "--allow-secrets", file)
	is.Equal(code, exitOK)
	is.True(strings.Contains(out, "\nkind: Secret\n"))
}

func TestRenderUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no path", []string{"render"}, "at least one file or folder"},
		{"missing path", []string{"render", "does-not-exist"}, "does-not-exist: no such file or folder"},
		{"bad output", []string{"render", "-o", "xml", examples}, "unknown output format"},
		{"output with out", []string{"render", "-o", "json", "--out", "x", examples}, "does not take -o"},
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
