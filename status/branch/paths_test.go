package branch

import (
	"path"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// checkInside fails unless file is workspaces/<ns>/<name>.yaml with safe segments.
func checkInside(t *testing.T, file string) {
	t.Helper()
	is := is.New(t)
	is.Equal(path.Clean(file), file)
	is.True(strings.HasPrefix(file, WorkspacesDir+"/"))
	is.Equal(strings.Count(file, "/"), 2) // workspaces/<ns>/<name>.yaml, nothing deeper
	for _, seg := range strings.Split(file, "/") {
		is.True(seg != "" && seg != "." && seg != ".." && !strings.HasPrefix(seg, ".")) // no escape, no hidden file
		is.True(len(seg) <= 255)                                                        // a file system takes it
	}
}

func TestWorkspaceFile(t *testing.T) {
	long := strings.Repeat("a", 300)
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
		// Names that sanitize to the same text: each keeps its own file.
		{"team-a", "a_b", ""},
		{"team-a", "a b", ""},
		{"team-a", "a:b", ""},
		{"team-a", "A_B", ""},
		{"team-a", "phi-3\x00", ""},
		{"team-a", "Phi-3", ""},
		{"team_a", "phi-3", ""},
		{"team/a", "phi-3", ""},
		// Long names are cut, and still told apart.
		{"team-a", long, ""},
		{"team-a", long + "b", ""},
		{long, "x", ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.ns+"|"+tt.name, func(t *testing.T) {
			is := is.New(t)
			got := WorkspaceFile(tt.ns, tt.name)
			if tt.want != "" {
				is.Equal(got, tt.want)
			}
			checkInside(t, got)
			if other, dup := seen[got]; dup {
				t.Fatalf("%q and %q share %s", other, tt.ns+"/"+tt.name, got)
			}
			seen[got] = tt.ns + "/" + tt.name
		})
	}
}

// FuzzWorkspaceFile checks, for any two workspaces, that each file stays inside the folder and
// that different workspaces never share one.
func FuzzWorkspaceFile(f *testing.F) {
	f.Add("team-a", "phi-3", "team-a", "phi_3")
	f.Add("..", "..", "_", "_")
	f.Add("a", "b.c", "a", "b_c")
	f.Add("", "x", "_", "x")
	f.Fuzz(func(t *testing.T, ns1, name1, ns2, name2 string) {
		a, b := WorkspaceFile(ns1, name1), WorkspaceFile(ns2, name2)
		checkInside(t, a)
		checkInside(t, b)
		if a == b && (ns1 != ns2 || name1 != name2) {
			t.Fatalf("%q/%q and %q/%q share %s", ns1, name1, ns2, name2, a)
		}
	})
}
