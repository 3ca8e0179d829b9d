package branch

import (
	"path"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestWorkspaceFile(t *testing.T) {
	tests := []struct {
		ns, name string
		want     string // "" = only check it stays inside workspaces/
	}{
		{"team-a", "phi-3", "workspaces/team-a/phi-3.yaml"},
		{"default", "falcon-7b.v2", "workspaces/default/falcon-7b.v2.yaml"},
		{"../..", "etc", ""},
		{"team-a", "../../etc", ""},
		{"team-a", "..", ""},
		{"team-a", ".", ""},
		{"team-a", ".git", ""},
		{"", "", ""},
		{"team-a", "a/b", ""},
		{"team-a", `a\b`, ""},
		{"team-a", "Ünïcode", ""},
		{"/abs", "/etc/passwd", ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.ns+"|"+tt.name, func(t *testing.T) {
			is := is.New(t)
			got := WorkspaceFile(tt.ns, tt.name)
			if tt.want != "" {
				is.Equal(got, tt.want)
			}
			is.Equal(path.Clean(got), got)
			is.True(strings.HasPrefix(got, WorkspacesDir+"/"))
			is.Equal(strings.Count(got, "/"), 2) // workspaces/<ns>/<name>.yaml, nothing deeper
			for _, seg := range strings.Split(got, "/") {
				is.True(seg != "" && seg != "." && seg != ".." && !strings.HasPrefix(seg, ".")) // no escape, no hidden file
			}
			if other, dup := seen[got]; dup {
				t.Fatalf("%q and %q share %s", other, tt.ns+"/"+tt.name, got)
			}
			seen[got] = tt.ns + "/" + tt.name
		})
	}
}
