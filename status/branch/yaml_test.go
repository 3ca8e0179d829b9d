package branch

import (
	"testing"
	"time"

	"github.com/matryer/is"
	"sigs.k8s.io/yaml"
)

// marshalYAML must give sigs.k8s.io/yaml.Marshal's bytes: status files written by earlier
// versions must not all change at the first write of a new one.
func TestMarshalYAMLIsSigsYAML(t *testing.T) {
	type inner struct {
		N     int               `json:"n"`
		F     float64           `json:"f,omitempty"`
		S     string            `json:"s"`
		L     []string          `json:"l"`
		M     map[string]string `json:"m,omitempty"`
		Empty map[string]int    `json:"empty"`
		Nil   *inner            `json:"nil"`
	}
	tests := []struct {
		name string
		v    any
	}{
		{"numbers", map[string]any{"int": 3, "big": int64(1) << 53, "neg": -7, "float": 0.5, "whole float": 2.0, "exp": 1e21, "tiny": 1e-9}},
		{"strings YAML would misread", map[string]any{"a": "true", "b": "1.0", "c": "null", "d": "~", "e": "0x1F", "f": "- item", "g": "key: value",
			"h": "multi\nline\n", "i": "  padded ", "j": "", "k": "#comment", "l": "2026-11-29T05:00:00Z", "m": "yes", "n": "'quoted'", "o": "ünïcode"}},
		{"keys in natural order", map[string]int{"b10": 1, "b9": 2, "a": 3, "A": 4, "_": 5, "1": 6}},
		{"struct", inner{N: 1, F: 2.5, S: "x", L: []string{"a", "b"}, M: map[string]string{"z": "1"}, Empty: map[string]int{}}},
		{"nested lists", []any{[]any{}, []any{1, "2", nil, true}, map[string]any{}}},
		{"time", map[string]time.Time{"at": time.Date(2026, 11, 29, 5, 0, 0, 0, time.UTC)}},
		{"a report's workspaces", report().Workspaces},
		{"a fleet's", fleet(20).Workspaces},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			want, err := yaml.Marshal(tt.v)
			is.NoErr(err)
			got, err := marshalYAML(tt.v)
			is.NoErr(err)
			is.Equal(string(got), string(want))
		})
	}
}
