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
	is.Equal(strings.Fields(lines[0]), []string{"PRESET", "FAMILY", "GPUS", "GPU", "MEMORY", "WEIGHTS", "RUNTIMES", "TUNING", "NOTES"})
	is.Equal(len(lines)-1, len(presets.Default().Models())) // one row per preset
	rows := map[string][]string{}
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f
		if i > 0 {
			is.True(strings.Fields(lines[i])[0] < f[0]) // sorted by name
		}
	}
	// Columns line up: every row starts its FAMILY column where the header does.
	col := strings.Index(lines[0], "FAMILY")
	for _, l := range lines[1:] {
		is.True(l[col-1] == ' ' && l[col] != ' ')
	}
	is.Equal(rows["phi-4"], []string{"phi-4", "phi4", "1", "40Gi", "27.31Gi", "vllm,transformers", "yes", "-"})
	is.Equal(rows["llama-3.3-70b-instruct"], []string{"llama-3.3-70b-instruct", "llama3", "by", "weights", "-", "131.42Gi", "vllm,transformers", "no", "gated,multi-node"})
	is.Equal(rows["llama-2-70b-chat"], []string{"llama-2-70b-chat", "llama2", "8", "192Gi", "-", "transformers", "no", "private,multi-node"})
	is.Equal(rows["phi-2"][7], "deprecated")
}

func TestSKUsTableContent(t *testing.T) {
	is := is.New(t)
	out, _, err := runCatalogCmd(t, "skus")
	is.NoErr(err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	is.Equal(strings.Fields(lines[0]), []string{"SKU", "GPUS", "GPU", "GPU", "MEMORY", "ALIASES"})
	is.Equal(len(lines)-1, len(presets.Default().SKUs()))
	is.True(strings.Contains(out, "\nStandard_ND96asr_v4 "))
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "Standard_ND96asr_v4 ") {
			is.Equal(strings.Fields(l), []string{"Standard_ND96asr_v4", "8", "A100", "320Gi", "Standard_ND96asr_A100_v4"})
		}
	}
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
	t.Run("extra argument", func(t *testing.T) {
		is := is.New(t)
		_, _, err := runCatalogCmd(t, "presets", "phi-4")
		is.True(err != nil)
	})
}
