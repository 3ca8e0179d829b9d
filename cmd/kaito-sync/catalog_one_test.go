package main

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/matryer/is"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/presets"
)

func TestPresetByName(t *testing.T) {
	want, ok := presets.Default().Model("google/gemma-3-4b-it")
	if !ok {
		t.Fatal("google/gemma-3-4b-it left the catalog: pick another model for this test")
	}
	for _, name := range []string{
		"google/gemma-3-4b-it", // the Hugging Face id
		"GOOGLE/Gemma-3-4B-IT", // in any case
		"gemma-3-4b-it",        // the served name
		"Gemma-3-4b-IT",
		"gemma-3-4b-instruct", // the legacy name
	} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			out, _, err := runCatalogCmd(t, "presets", name, "-o", "json")
			is.NoErr(err)
			var got presets.Model
			is.NoErr(json.Unmarshal([]byte(out), &got)) // one object, not a list
			is.Equal(got, want)
		})
	}
}

func TestSKUByName(t *testing.T) {
	want, _ := presets.Default().SKU("Standard_ND96asr_A100_v4")
	for _, name := range []string{"Standard_ND96asr_A100_v4", "standard_nd96asr_a100_v4", "Standard_ND96asr_v4"} {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)
			out, _, err := runCatalogCmd(t, "skus", name, "-o", "yaml")
			is.NoErr(err)
			var got presets.SKU
			is.NoErr(yaml.UnmarshalStrict([]byte(out), &got))
			is.Equal(got, want)
		})
	}
}

// One entry is described field by field, every field of it.
func TestCatalogOneGolden(t *testing.T) {
	for _, tt := range []struct{ golden, cmd, name string }{
		{"preset-phi-4-mini-instruct.golden", "presets", "phi-4-mini-instruct"},
		{"preset-llama-3.3-70b.golden", "presets", "meta-llama/Llama-3.3-70B-Instruct"},
		{"sku-nc24ads-a100.golden", "skus", "Standard_NC24ads_A100_v4"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			out, _, err := runCatalogCmd(t, tt.cmd, tt.name)
			is.NoErr(err)
			checkGolden(t, tt.golden, out)
		})
	}
}

// Every field of the catalog's types has a label: a field added to presets is described too.
func TestDescribeLabelsEveryField(t *testing.T) {
	for _, v := range []any{presets.Model{}, presets.SKU{}, presets.TuningParams{}, presets.TransformersParams{}} {
		typ := reflect.TypeOf(v)
		t.Run(typ.Name(), func(t *testing.T) {
			is := is.New(t)
			for i := range typ.NumField() {
				name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
				if name == "-" || !typ.Field(i).IsExported() {
					continue
				}
				_, ok := catalogLabels[name]
				is.True(ok) // give the JSON field a label in catalogLabels
			}
		})
	}
}

func TestCatalogUnknownName(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"presets", "phi4"}, `unknown preset "phi4" (did you mean "phi-4"`},
		{[]string{"presets", "phi-4-mini"}, `"phi-4-mini-instruct"`}, // names holding it
		{[]string{"presets", "falcon-7b"}, `preset "falcon-7b" was removed in Kaito`},
		{[]string{"presets", "nothing-like-it"}, `unknown preset "nothing-like-it": `},
		{[]string{"skus", "Standard_NC24ads_A100_v5"}, `unknown GPU SKU "Standard_NC24ads_A100_v5" (did you mean "Standard_NC24ads_A100_v4"`},
		{[]string{"skus", "a", "b"}, "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			is := is.New(t)
			out, _, err := runCatalogCmd(t, tt.args...)
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want))
			var ee *exitError
			if errors.As(err, &ee) {
				is.Equal(ee.code, exitUsage)
			}
			is.Equal(out, "")
			code, _, _ := runCLI(tt.args...)
			is.Equal(code, exitUsage)
		})
	}
}
