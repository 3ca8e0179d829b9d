package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/presets"
)

// Its own flag name, so it cannot clash with an -update another test file of the package defines.
var updateCatalogGolden = flag.Bool("update-catalog-golden", false, "rewrite testdata/*.golden of the presets and skus commands")

// runCatalogCmd runs the root command like main does, but captures its output.
func runCatalogCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errb.String(), err
}

func checkCatalogGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateCatalogGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update-catalog-golden to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update-catalog-golden if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestCatalogTablesGolden(t *testing.T) {
	for _, tt := range []struct{ golden, cmd string }{
		{"presets.golden", "presets"},
		{"skus.golden", "skus"},
	} {
		t.Run(tt.cmd, func(t *testing.T) {
			is := is.New(t)
			out, _, err := runCatalogCmd(t, tt.cmd)
			is.NoErr(err)
			checkCatalogGolden(t, tt.golden, out)
			// -o table is the default.
			explicit, _, err := runCatalogCmd(t, tt.cmd, "-o", "table")
			is.NoErr(err)
			is.Equal(explicit, out)
		})
	}
}

func TestPresetsTableContent(t *testing.T) {
	is := is.New(t)
	out, _, err := runCatalogCmd(t, "presets")
	is.NoErr(err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	is.Equal(strings.Fields(lines[0]), []string{"HUGGING", "FACE", "ID", "LEGACY", "NAME", "WEIGHTS", "DISK", "RUNTIMES", "TUNING", "NOTES"})
	is.Equal(len(lines)-1, len(presets.Default().Models())) // one row per catalog model
	rows := map[string][]string{}
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f
		if i > 0 {
			is.True(strings.ToLower(strings.Fields(lines[i])[0]) < strings.ToLower(f[0])) // sorted by id, ignoring case
		}
	}
	// Columns line up: every row starts its LEGACY NAME column where the header does.
	col := strings.Index(lines[0], "LEGACY NAME")
	for _, l := range lines[1:] {
		is.True(l[col-1] == ' ' && l[col] != ' ')
	}
	is.Equal(rows["microsoft/phi-4"], []string{"microsoft/phi-4", "phi-4", "27.31Gi", "107Gi", "vllm,transformers", "yes", "-"})
	is.Equal(rows["meta-llama/Llama-3.3-70B-Instruct"], []string{"meta-llama/Llama-3.3-70B-Instruct", "llama-3.3-70b-instruct", "131.42Gi", "211Gi", "vllm,transformers", "no", "gated"})
	is.Equal(rows["microsoft/Phi-4-mini-instruct"][4:6], []string{"vllm", "yes"})
	is.Equal(rows["Qwen/Qwen3-8B-AWQ"], []string{"Qwen/Qwen3-8B-AWQ", "-", "5.68Gi", "85Gi", "vllm", "no", "awq"})
	is.Equal(rows["deepseek-ai/DeepSeek-V4-Pro"][6], "fp8,cuda-toolkit")
}

func TestSKUsTableContent(t *testing.T) {
	is := is.New(t)
	out, _, err := runCatalogCmd(t, "skus")
	is.NoErr(err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	is.Equal(strings.Fields(lines[0]), []string{"SKU", "GPUS", "GPU", "GPU", "MEMORY", "CC", "NVME", "NOTES", "ALIASES"})
	is.Equal(len(lines)-1, len(presets.Default().SKUs()))
	rows := map[string]string{}
	for _, l := range lines[1:] {
		rows[strings.Fields(l)[0]] = strings.Join(strings.Fields(l), " ")
	}
	is.Equal(rows["Standard_ND96asr_A100_v4"], "Standard_ND96asr_A100_v4 8 NVIDIA A100 320Gi 8.0 no - Standard_ND96asr_v4")
	is.Equal(rows["Standard_NC24ads_A100_v4"], "Standard_NC24ads_A100_v4 1 NVIDIA A100 80Gi 8.0 yes - -")
	is.Equal(rows["Standard_NC6s_v3"], "Standard_NC6s_v3 1 NVIDIA V100 16Gi 7.0 no legacy -")
	is.Equal(rows["Standard_NG32ads_V620_v1"], "Standard_NG32ads_V620_v1 1 AMD Radeon PRO V620 32Gi - no - -")
}

func TestCatalogJSONAndYAML(t *testing.T) {
	t.Run("presets json", func(t *testing.T) {
		is := is.New(t)
		out, _, err := runCatalogCmd(t, "presets", "-o", "json")
		is.NoErr(err)
		var got []presets.Model
		is.NoErr(json.Unmarshal([]byte(out), &got))
		is.Equal(got, presets.Default().Models())
	})
	t.Run("presets yaml", func(t *testing.T) {
		is := is.New(t)
		out, _, err := runCatalogCmd(t, "presets", "--output=yaml")
		is.NoErr(err)
		var got []presets.Model
		is.NoErr(yaml.UnmarshalStrict([]byte(out), &got))
		is.Equal(got, presets.Default().Models())
	})
	t.Run("skus json", func(t *testing.T) {
		is := is.New(t)
		out, _, err := runCatalogCmd(t, "skus", "-o", "json")
		is.NoErr(err)
		var got []presets.SKU
		is.NoErr(json.Unmarshal([]byte(out), &got))
		is.Equal(got, presets.Default().SKUs())
		is.True(strings.Contains(out, `"aliases": [`))
	})
	t.Run("skus yaml", func(t *testing.T) {
		is := is.New(t)
		out, _, err := runCatalogCmd(t, "skus", "-o", "yaml")
		is.NoErr(err)
		var got []presets.SKU
		is.NoErr(yaml.UnmarshalStrict([]byte(out), &got))
		is.Equal(got, presets.Default().SKUs())
	})
}

func TestCatalogBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"presets", "-o", "xml"},
		{"skus", "-o", "wide"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			is := is.New(t)
			out, _, err := runCatalogCmd(t, args...)
			var ee *exitError
			is.True(errors.As(err, &ee))
			is.Equal(ee.code, exitUsage)
			is.True(strings.Contains(err.Error(), "use table, json or yaml"))
			is.Equal(out, "") // nothing half-written
			is.Equal(run(args, io.Discard, io.Discard), exitUsage)
		})
	}
	t.Run("two names", func(t *testing.T) {
		is := is.New(t)
		_, _, err := runCatalogCmd(t, "presets", "phi-4", "phi-3")
		is.True(err != nil)
	})
}
