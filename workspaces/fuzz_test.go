package workspaces

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kaito-sync/kaito-sync/internal/crashguard"
	"github.com/kaito-sync/kaito-sync/presets"
)

// FuzzLoadAndCheck feeds arbitrary bytes through the decoder and every validation rule. The seed
// corpus in testdata/fuzz/FuzzLoadAndCheck holds the examples and known-broken files.
func FuzzLoadAndCheck(f *testing.F) {
	f.Add([]byte(minimalWorkspace))
	cat := presets.Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"ws.yaml": {Data: data}}
		s, err := Load(fsys, ".", Options{MaxNodes: 20_000})
		if err != nil {
			t.Fatalf("Load returned an I/O error for in-memory data: %v", err)
		}
		Check(s, cat, CheckOptions{})
		for _, p := range s.Problems {
			if p.Path != "ws.yaml" || p.Message == "" || (p.Severity != Error && p.Severity != Warning) {
				t.Fatalf("malformed problem: %+v", p)
			}
			if !strings.HasPrefix(p.String(), "ws.yaml") {
				t.Fatalf("problem does not start with its file: %q", p.String())
			}
			if strings.Contains(p.Message, crashguard.Bug) {
				t.Fatalf("a panic, caught: %s", p)
			}
		}
		// A workspace counted valid must have no error against it.
		for _, ws := range s.Valid() {
			if s.ProblemsFor(ws.Key()).HasErrors() {
				t.Fatalf("workspace %s is valid but has errors", ws.Key())
			}
		}
		// Diff of a workspace with itself is empty, whatever it holds.
		for _, ws := range s.Workspaces {
			if c := Diff(ws, ws); len(c) != 0 {
				t.Fatalf("Diff(ws, ws) = %v", c)
			}
		}
	})
}
