package branch

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/status"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the rendering (run with -update if the change is meant):\n%s", file, got)
	}
}

func TestRenderGolden(t *testing.T) {
	files, err := Render(report(), RelativeLink(DefaultBranch))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "README.md.golden", files[ReadmeFile])
	golden(t, "status.svg.golden", files[SVGFile])
	golden(t, "status.json.golden", files[StatusFile])
	golden(t, "phi-3.yaml.golden", files[WorkspaceFile("team-a", "phi-3")])
}

func TestRenderIsAFunctionOfTheReport(t *testing.T) {
	is := is.New(t)
	a, err := Render(report(), nil)
	is.NoErr(err)
	b, err := Render(report(), nil)
	is.NoErr(err)
	is.Equal(a, b)
	is.Equal(len(a), 4+3) // four workspaces, status.json, README.md, status.svg, nothing else
}

func TestReadmeMarksFailuresWithFileAndLine(t *testing.T) {
	is := is.New(t)
	readme := string(Readme(report(), RelativeLink("kaito-status")))
	is.True(strings.Contains(readme, "| 🔴 **FAILING** | team-b | [bad](../0123456789abcdef0123456789abcdef01234567/workspaces/bad.yaml#L1)"))
	is.True(strings.Contains(readme, "workspaces/bad.yaml:7:17: team-b/bad: resource.instanceType: unknown instance type"))
	is.True(strings.Contains(readme, `"Standard_Nope" \| see`) || strings.Contains(readme, "Standard_Nope")) // a pipe never breaks the table
	is.True(strings.Contains(readme, "**QuotaExceeded**"))
	is.True(strings.Contains(readme, "workspaces/broken.yaml:4:1"))
	is.True(strings.Contains(readme, "| 🟢 | team-a | [phi-3]"))
	is.True(strings.Contains(readme, "| Standard_NC6s_v3 | True | True |  | True | 1 | Ready | 90m |"))
}

func TestRelativeLinkClimbsOutOfTheBranch(t *testing.T) {
	is := is.New(t)
	is.Equal(RelativeLink("kaito-status")("ws/a.yaml", 3, "abc"), "../abc/ws/a.yaml#L3")
	is.Equal(RelativeLink("ops/status")("ws/a.yaml", 0, "abc"), "../../abc/ws/a.yaml")
	is.Equal(RelativeLink("x")("ws/a.yaml", 0, ""), "")
}

func TestReadmeEscapesHostileText(t *testing.T) {
	is := is.New(t)
	rep := report()
	rep.Workspaces[0].Conditions[2].Message = "<script>alert(1)</script>\n| injected | row |"
	readme := string(Readme(rep, nil))
	is.True(!strings.Contains(readme, "<script>"))
	is.True(!strings.Contains(readme, "\n| injected"))
	svg := string(SVG(&status.Report{Workspaces: []*status.WorkspaceStatus{{Namespace: "a", Name: `"><script>`}}}))
	is.True(!strings.Contains(svg, "<script>"))
}
