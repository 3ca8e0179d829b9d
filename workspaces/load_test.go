package workspaces

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
)

const minimalWorkspace = `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
resource:
  instanceType: Standard_NC6s_v3
  labelSelector:
    matchLabels:
      apps: phi-3
inference:
  preset:
    name: phi-3-mini-4k-instruct
`

func loadString(t *testing.T, files map[string]string, opts Options) *Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	s, err := Load(fsys, ".", opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

// findProblem returns the first problem whose message contains substr.
func findProblem(ps Problems, substr string) (Problem, bool) {
	for _, p := range ps {
		if strings.Contains(p.Message, substr) {
			return p, true
		}
	}
	return Problem{}, false
}

func TestLoadDecodesBothVersionsIntoOneModel(t *testing.T) {
	is := is.New(t)
	beta := strings.Replace(minimalWorkspace, "v1alpha1", "v1beta1", 1)
	beta = strings.Replace(beta, "name: ws", "name: ws2\n  namespace: team", 1)
	s := loadString(t, map[string]string{"a.yaml": minimalWorkspace, "b/c.yml": beta}, Options{})
	is.Equal(len(s.Problems), 0)
	is.Equal(len(s.Workspaces), 2)
	is.Equal(s.Files, 2)
	a, b := s.Workspaces[0], s.Workspaces[1]
	is.Equal(a.Key(), "default/ws") // a missing namespace means default
	is.Equal(b.Key(), "team/ws2")
	is.Equal(a.PresetName(), "phi-3-mini-4k-instruct")
	is.Equal(b.Resource.InstanceType, "Standard_NC6s_v3")
	is.Equal(a.Source, Pos{Path: "a.yaml", Line: 1, Col: 1})
	is.Equal(b.Locate("inference.preset.name"), Pos{Path: "b/c.yml", Line: 13, Col: 5})
}

func TestLoadProblemsCarryPositionAndField(t *testing.T) {
	tests := []struct {
		name, doc, field, message string
		line, col                 int
	}{
		{"unknown field with suggestion", strings.Replace(minimalWorkspace, "instanceType", "instancetype", 1),
			"resource.instancetype", `unknown field "instancetype" (did you mean "instanceType"?)`, 6, 3},
		{"unknown field deep in a list", minimalWorkspace + "  adapters:\n  - source: {name: a, imag: x.io/a:1}\n",
			"inference.adapters[0].source.imag", `unknown field "imag" (did you mean "image"?)`, 14, 23},
		{"spec is not Kaito's shape", minimalWorkspace + "spec: {}\n", "spec", "have no spec", 13, 1},
		{"number where a string is expected", minimalWorkspace + "  adapters:\n  - source: {name: a, image: x.io/a:1}\n    strength: 0.5\n",
			"inference.adapters[0].strength", `quote it ("0.5")`, 15, 15},
		{"string where a number is expected", strings.Replace(minimalWorkspace, "resource:\n", "resource:\n  count: two\n", 1),
			"resource.count", "expected a whole number", 6, 10},
		{"list where a mapping is expected", strings.Replace(minimalWorkspace, "  preset:\n    name: phi-3-mini-4k-instruct", "  preset: [a]", 1),
			"inference.preset", "expected a mapping, got a list", 11, 11},
		{"duplicate key", minimalWorkspace + "inference: {}\n", "inference", `duplicate key "inference" (first at line 10)`, 13, 1},
		{"bad quantity in a template", strings.Replace(minimalWorkspace, "  preset:\n    name: phi-3-mini-4k-instruct",
			"  template:\n    spec:\n      containers:\n      - name: c\n        image: x.io/c:1\n        resources: {limits: {cpu: lots}}", 1),
			"inference.template.spec.containers[0].resources.limits.cpu", "invalid value", 16, 35},
		{"unsupported apiVersion", strings.Replace(minimalWorkspace, "v1alpha1", "v1", 1), "apiVersion", "unsupported apiVersion", 1, 1},
		{"partition is v1beta1 only", strings.Replace(minimalWorkspace, "resource:\n", "resource:\n  partition: {mode: mig}\n", 1),
			"resource.partition", "only in kaito.sh/v1beta1", 6, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := loadString(t, map[string]string{"ws.yaml": tt.doc}, Options{})
			p, ok := findProblem(s.Problems, tt.message)
			is.True(ok) // the expected problem is reported
			is.Equal(p.Field, tt.field)
			is.Equal(p.Path, "ws.yaml")
			is.Equal(p.Line, tt.line)
			is.Equal(p.Col, tt.col)
			is.Equal(p.Workspace, "default/ws")
			is.Equal(p.Severity, Error)
		})
	}
}

func TestLoadKinds(t *testing.T) {
	tests := []struct {
		name, doc   string
		companions  int
		wantMessage string // "" means no problem
	}{
		{"configmap companion", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n", 1, ""},
		{"pvc companion", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: p}\nspec: {accessModes: [ReadWriteOnce]}\n", 1, ""},
		{"secret refused", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {HF_TOKEN: x}\n", 0, "plain-text Secrets do not belong in Git"},
		{"cluster role binding refused", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: x}\n", 0, "is not allowed in a workspace folder"},
		{"deployment refused", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", 0, "is not allowed in a workspace folder"},
		{"no kind", "metadata: {name: x}\n", 0, "apiVersion and kind are required"},
		{"not a mapping", "- a\n- b\n", 0, "expected a Kubernetes object"},
		{"empty documents are skipped", "---\n---\n# only a comment\n", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := loadString(t, map[string]string{"x.yaml": tt.doc}, Options{})
			is.Equal(len(s.Companions), tt.companions)
			if tt.wantMessage == "" {
				is.Equal(len(s.Problems), 0)
				return
			}
			p, ok := findProblem(s.Problems, tt.wantMessage)
			is.True(ok)
			is.Equal(p.Path, "x.yaml")
			is.True(p.Line >= 1)
		})
	}
}

func TestLoadSecretsWhenOptedIn(t *testing.T) {
	is := is.New(t)
	doc := "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  HF_TOKEN: <base64-encoded-huggingface-token>\n"
	s := loadString(t, map[string]string{"x.yaml": doc}, Options{AllowSecrets: true})
	is.Equal(len(s.Companions), 1)
	p, ok := findProblem(s.Problems, "placeholder")
	is.True(ok) // the opted-in Secret still may not hold a placeholder
	is.Equal(p.Field, `stringData.HF_TOKEN`)
	is.Equal(p.Line, 5)
}

func TestLoadSyntaxErrorMarksFileBroken(t *testing.T) {
	is := is.New(t)
	broken := minimalWorkspace + "---\napiVersion: v1\nkind: [\n"
	s := loadString(t, map[string]string{"good.yaml": minimalWorkspace, "bad.yaml": broken}, Options{})
	is.True(!s.Complete()) // a file that did not parse to the end makes the set incomplete
	is.Equal(s.Broken, []string{"bad.yaml"})
	p, ok := findProblem(s.Problems, "invalid YAML")
	is.True(ok)
	is.Equal(p.Path, "bad.yaml")
	is.Equal(p.Line, 15)
}

func TestLoadWalksFoldersSkippingHiddenAndNonYAML(t *testing.T) {
	is := is.New(t)
	s := loadString(t, map[string]string{
		"a/b/c/ws.yaml":            minimalWorkspace,
		"a/README.md":              "# not yaml",
		".github/workflows/ci.yml": "on: push\n",
		"a/.hidden/x.yaml":         "kind: [\n",
	}, Options{})
	is.Equal(s.Files, 1)
	is.Equal(len(s.Problems), 0)
	is.Equal(len(s.Workspaces), 1)
}

func TestLoadPathsFindsDuplicatesAcrossRoots(t *testing.T) {
	is := is.New(t)
	fsys := fstest.MapFS{
		"one/ws.yaml": {Data: []byte(minimalWorkspace)},
		"two/ws.yaml": {Data: []byte(minimalWorkspace)},
	}
	s, err := LoadPaths(fsys, []string{"one", "two/ws.yaml"}, Options{})
	is.NoErr(err)
	is.Equal(len(s.Problems), 1) // once, at the second place
	for _, p := range s.Problems {
		line := p.String() // its own place, and the other one in the message
		is.True(strings.Contains(line, "one/ws.yaml:1:1") && strings.Contains(line, "two/ws.yaml:1:1"))
	}
	is.Equal(len(s.Valid()), 0) // neither copy is applied
}

func TestLoadMergeKeysAndAliases(t *testing.T) {
	is := is.New(t)
	doc := `apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: ws
  labels: &l {team: a}
  annotations:
    <<: {kaito.sh/runtime: transformers}
resource:
  instanceType: Standard_NC6s_v3
  labelSelector:
    matchLabels: *l
inference:
  preset:
    name: phi-3-mini-4k-instruct
`
	s := loadString(t, map[string]string{"ws.yaml": doc}, Options{})
	is.Equal(len(s.Problems), 0)
	ws := s.Workspaces[0]
	is.Equal(ws.Resource.LabelSelector.MatchLabels["team"], "a")
	is.Equal(ws.Metadata.Annotations[AnnotationRuntime], "transformers")
}

func TestLimits(t *testing.T) {
	laughs := "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	for i := 'b'; i <= 'j'; i++ {
		laughs += fmt.Sprintf("%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	billion := "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata: {name: ws}\nstatus:\n  " + strings.ReplaceAll(laughs, "\n", "\n  ")
	deep := "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata: {name: ws}\nstatus: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n"
	tests := []struct {
		name, doc string
		opts      Options
		message   string
	}{
		{"file size", minimalWorkspace, Options{MaxFileSize: 100}, "larger than the limit of 100 bytes"},
		{"documents per file", strings.Repeat("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", 3), Options{MaxDocuments: 2}, "more than 2 YAML documents"},
		{"nesting depth", deep, Options{}, "nests deeper than 64 levels"},
		{"alias expansion (billion laughs)", billion, Options{}, "too large once YAML aliases are expanded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := loadString(t, map[string]string{"x.yaml": tt.doc}, tt.opts)
			_, ok := findProblem(s.Problems, tt.message)
			is.True(ok) // the limit is enforced
		})
		t.Run(tt.name+" within limits", func(t *testing.T) {
			is := is.New(t)
			// The same document passes once the limit is raised: the limit, not something else, refused it.
			raised := tt.opts
			raised.MaxFileSize, raised.MaxDocuments, raised.MaxDepth, raised.MaxNodes = 1<<30, 1000, 1000, 1<<40
			if tt.name == "alias expansion (billion laughs)" {
				raised.MaxNodes = 1 << 20
				tt.doc = strings.Replace(tt.doc, "\n  j: ", "\n  #", 1) // fewer levels, so it fits
				tt.doc = strings.Replace(tt.doc, "\n  i: ", "\n  #", 1)
				tt.doc = strings.Replace(tt.doc, "\n  h: ", "\n  #", 1)
				tt.doc = strings.Replace(tt.doc, "\n  g: ", "\n  #", 1)
				tt.doc = strings.Replace(tt.doc, "\n  f: ", "\n  #", 1)
			}
			s := loadString(t, map[string]string{"x.yaml": tt.doc}, raised)
			_, ok := findProblem(s.Problems, tt.message)
			is.True(!ok)
		})
	}
}

// BenchmarkBillionLaughs shows the alias budget refusing an exponential document in bounded time
// and memory; compare with BenchmarkLoadExample, a normal workspace, in the same run.
func BenchmarkBillionLaughs(b *testing.B) {
	laughs := "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	for i := 'b'; i <= 'j'; i++ {
		laughs += fmt.Sprintf("%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	doc := "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata: {name: ws}\nstatus:\n  " + strings.ReplaceAll(laughs, "\n", "\n  ")
	fsys := fstest.MapFS{"x.yaml": {Data: []byte(doc)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(fsys, ".", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadExample(b *testing.B) {
	fsys := fstest.MapFS{"x.yaml": {Data: []byte(minimalWorkspace)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(fsys, ".", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPathPrefixNamesFilesAsTheRepositoryDoes(t *testing.T) {
	is := is.New(t)
	dup := map[string]string{"a.yaml": minimalWorkspace, "b.yaml": minimalWorkspace}
	s := loadString(t, dup, Options{PathPrefix: "clusters/prod"})
	is.Equal(len(s.Problems), 1) // one problem per extra declaration
	is.Equal(s.Problems[0].Path, "clusters/prod/b.yaml")
	is.True(strings.Contains(s.Problems[0].Message, "clusters/prod/a.yaml:1:1")) // the other place, named the same way
	is.Equal(s.Workspaces[0].Source.Path, "clusters/prod/a.yaml")
	is.Equal(s.Workspaces[0].Locate("inference.preset.name").Path, "clusters/prod/a.yaml")
}

func TestImmutableKeyChangesOnlyWithImmutableFields(t *testing.T) {
	is := is.New(t)
	key := func(doc string) string {
		s := loadString(t, map[string]string{"a.yaml": doc}, Options{})
		is.Equal(len(s.Problems), 0)
		return ImmutableKey(s.Workspaces[0])
	}
	base := key(minimalWorkspace)
	is.Equal(base, key(minimalWorkspace))
	withAdapter := minimalWorkspace + "  adapters:\n  - source: {name: a, image: x.io/a:1}\n"
	is.Equal(key(withAdapter), base) // adapters change in place
	is.True(key(strings.Replace(minimalWorkspace, "Standard_NC6s_v3", "Standard_NC12s_v3", 1)) != base)
	is.True(key(strings.Replace(minimalWorkspace, "apps: phi-3", "apps: phi-3b", 1)) != base)
}
