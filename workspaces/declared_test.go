package workspaces

import (
	"testing"

	"github.com/matryer/is"
)

// What Git still declares, the one input of every prune decision.
func TestDeclared(t *testing.T) {
	ws := &Workspace{}
	ws.Metadata.Name, ws.Metadata.Namespace = "a", "team"
	for _, tc := range []struct {
		name      string
		problems  Problems
		want      []string
		anonymous bool
	}{
		{"decoded", nil, []string{"team/a"}, false},
		{"named only by an error", Problems{{Severity: Error, Workspace: "team/b"}}, []string{"team/a", "team/b"}, false},
		{"a warning declares nothing", Problems{{Severity: Warning, Workspace: "team/c"}}, []string{"team/a"}, false},
		{"a companion's problem is no workspace", Problems{{Severity: Error, Workspace: "ConfigMap/team/cfg"}}, []string{"team/a"}, false},
		{"an error of no workspace", Problems{{Severity: Error, Path: "x.yaml"}}, []string{"team/a"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			s := &Set{Workspaces: []*Workspace{ws}, Problems: tc.problems}
			declared, anonymous := s.Declared()
			is.Equal(anonymous, tc.anonymous)
			is.Equal(len(declared), len(tc.want))
			for _, k := range tc.want {
				is.True(declared[k])
			}
		})
	}
}
