package workspaces

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
)

// checkYAML loads files (path → content) from memory with the default options and runs Check
// against the embedded catalog, as `kaito-sync validate` does.
func checkYAML(t *testing.T, files map[string]string) *Set {
	t.Helper()
	return checkYAMLWith(t, files, Options{}, CheckOptions{})
}

// checkYAMLWith is checkYAML with explicit load and check options.
func checkYAMLWith(t *testing.T, files map[string]string, opts Options, copts CheckOptions) *Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	s, err := Load(fsys, ".", opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	Check(s, presets.Default(), copts)
	return s
}

// workspaceFromYAML loads one workspace document that must decode without problems.
func workspaceFromYAML(t *testing.T, doc string) *Workspace {
	t.Helper()
	s, err := Load(fstest.MapFS{"ws.yaml": {Data: []byte(doc)}}, ".", Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(s.Problems) > 0 || len(s.Workspaces) != 1 {
		t.Fatalf("want one workspace without problems, got %d workspaces and:\n%s", len(s.Workspaces), problemList(s.Problems))
	}
	return s.Workspaces[0]
}

// problemWant describes one expected problem. Zero fields are not checked, except that Path
// defaults to "ws.yaml".
type problemWant struct {
	sev   Severity
	field string
	line  int
	msg   string // a substring of Message
	path  string
	ws    string // Problem.Workspace
}

// assertProblems checks that got holds exactly the wanted problems, in order (Check sorts them by
// file, line, column, field and message).
func assertProblems(t *testing.T, got Problems, want []problemWant) {
	t.Helper()
	is := is.NewRelaxed(t)
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), problemList(got))
		return
	}
	for i, w := range want {
		p := got[i]
		path := w.path
		if path == "" {
			path = "ws.yaml"
		}
		ok := p.Severity == w.sev && p.Field == w.field && p.Path == path &&
			(w.line == 0 || p.Line == w.line) && strings.Contains(p.Message, w.msg) &&
			(w.ws == "" || p.Workspace == w.ws)
		if !ok {
			t.Logf("problem %d: got  %s [severity %s, field %q, line %d, workspace %q]", i, p, p.Severity, p.Field, p.Line, p.Workspace)
			t.Logf("problem %d: want severity %s, field %q, line %d, path %s, workspace %q, message containing %q", i, w.sev, w.field, w.line, path, w.ws, w.msg)
		}
		is.True(ok) // problem matches
	}
}

func problemList(ps Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\t")
		b.WriteString(p.String())
		b.WriteString(" [field ")
		b.WriteString(p.Field)
		b.WriteString("]\n")
	}
	return b.String()
}
