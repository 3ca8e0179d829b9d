package plan

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// phi3 is Kaito's quick-start workspace; sku, preset and adapter vary it.
func phi3(name, sku, preset, adapter string) string {
	s := fmt.Sprintf(`apiVersion: kaito.sh/v1alpha1
kind: Workspace
metadata:
  name: %s
resource:
  instanceType: %q
  labelSelector:
    matchLabels:
      apps: %s
inference:
  preset:
    name: %s
`, name, sku, name, preset)
	if adapter != "" {
		s += fmt.Sprintf(`  adapters:
    - source:
        name: %q
        image: "myregistry.azurecr.io/%s:0.0.1"
      strength: "1.0"
`, adapter, adapter)
	}
	return s
}

const (
	v100   = "Standard_NC6s_v3"
	v100x2 = "Standard_NC12s_v3"
	mini4k = "phi-3-mini-4k-instruct"
	mini   = "phi-3-mini-128k-instruct"
)

func snap(commit string, files map[string]string) source.Snapshot {
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return source.Snapshot{Commit: commit, Tree: fsys, Path: "workspaces"}
}

type goldenTest struct {
	name       string
	base, head map[string]string
	summary    Summary
	changes    bool
	valid      bool
}

var goldenCases = []goldenTest{
	{
		name:    "add",
		base:    map[string]string{"a.yaml": phi3("chat", v100, mini4k, "")},
		head:    map[string]string{"a.yaml": phi3("chat", v100, mini4k, ""), "b.yaml": phi3("code", v100, mini, "")},
		summary: Summary{Added: 1, Unchanged: 1}, changes: true, valid: true,
	},
	{
		name:    "change-adapter",
		base:    map[string]string{"a.yaml": phi3("chat", v100, mini, "")},
		head:    map[string]string{"a.yaml": phi3("chat", v100, mini, "adapter-phi3")},
		summary: Summary{Changed: 1}, changes: true, valid: true,
	},
	{
		name:    "immutable",
		base:    map[string]string{"a.yaml": phi3("chat", v100, mini4k, "")},
		head:    map[string]string{"a.yaml": phi3("chat", v100, mini, "")},
		summary: Summary{Changed: 1, Recreate: 1}, changes: true, valid: true,
	},
	{
		name:    "remove",
		base:    map[string]string{"a.yaml": phi3("chat", v100, mini4k, ""), "b.yaml": phi3("code", v100, mini, "")},
		head:    map[string]string{"a.yaml": phi3("chat", v100, mini4k, "")},
		summary: Summary{Removed: 1, Unchanged: 1}, changes: true, valid: true,
	},
	{
		name: "invalid",
		base: map[string]string{"a.yaml": phi3("chat", v100, mini4k, "")},
		head: map[string]string{"a.yaml": strings.Replace(phi3("chat", v100, mini4k, ""), "instanceType", "instancetype", 1)},
		// The typo is reported at head; the workspace keeps what it has.
		summary: Summary{Invalid: 1}, changes: false, valid: false,
	},
	{
		name:    "gpu-sku",
		base:    map[string]string{"a.yaml": phi3("chat", v100, mini, "")},
		head:    map[string]string{"a.yaml": phi3("chat", v100x2, mini, "")},
		summary: Summary{Changed: 1, Recreate: 1}, changes: true, valid: true,
	},
	{
		// One field of one adapter: shown as that field, not as two JSON lists.
		name:    "adapter-strength",
		base:    map[string]string{"a.yaml": phi3("chat", v100, mini, "adapter-phi3")},
		head:    map[string]string{"a.yaml": strings.Replace(phi3("chat", v100, mini, "adapter-phi3"), `strength: "1.0"`, `strength: "0.5"`, 1)},
		summary: Summary{Changed: 1}, changes: true, valid: true,
	},
	{
		// Two of three workspaces removed: the sync refuses it without --allow-mass-prune, and the
		// plan says so.
		name:    "mass-prune",
		base:    map[string]string{"a.yaml": phi3("chat", v100, mini4k, ""), "b.yaml": phi3("code", v100, mini, ""), "c.yaml": phi3("docs", v100, mini, "")},
		head:    map[string]string{"a.yaml": phi3("chat", v100, mini4k, "")},
		summary: Summary{Removed: 2, Unchanged: 1}, changes: true, valid: true,
	},
	{
		// Base was invalid (nothing of it applied): the preset change is not claimed to recreate.
		name:    "invalid-base",
		base:    map[string]string{"a.yaml": strings.Replace(phi3("chat", v100, mini4k, ""), "instanceType", "instancetype", 1)},
		head:    map[string]string{"a.yaml": phi3("chat", v100, mini, "")},
		summary: Summary{Changed: 1}, changes: true, valid: true,
	},
	{
		name:    "no-change",
		base:    map[string]string{"a.yaml": phi3("chat", v100, mini, "")},
		head:    map[string]string{"a.yaml": phi3("chat", v100, mini, "")},
		summary: Summary{Unchanged: 1}, changes: false, valid: true,
	},
}

func goldenCase(name string) goldenTest {
	for _, c := range goldenCases {
		if c.name == name {
			return c
		}
	}
	panic("no golden case " + name)
}

func TestGolden(t *testing.T) {
	cat := presets.Default()
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			p, err := Compute(snap("1111111111111111111111111111111111111111", tc.base), snap("2222222222222222222222222222222222222222", tc.head), cat, Options{})
			is.NoErr(err)
			is.Equal(p.Summary, tc.summary)
			is.Equal(p.HasChanges(), tc.changes)
			is.Equal(p.Valid(), tc.valid)

			var out bytes.Buffer
			out.WriteString("==== text\n")
			is.NoErr(WriteText(&out, p))
			out.WriteString("==== markdown\n")
			is.NoErr(WriteMarkdown(&out, p, MarkdownOptions{}))
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				is.NoErr(os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			is.NoErr(err)
			is.Equal(out.String(), string(want)) // golden differs: go test ./sync/plan -update
		})
	}
}

func TestGPUSKUChange(t *testing.T) {
	is := is.New(t)
	tc := goldenCase("gpu-sku")
	p, err := Compute(snap("b", tc.base), snap("h", tc.head), presets.Default(), Options{})
	is.NoErr(err)
	ws := p.Workspaces[0]
	is.Equal(ws.Nodes.Pool, PoolReplace)
	is.Equal(*ws.Nodes.Before, Nodes{InstanceType: v100, Count: 1, GPUsPerNode: 1, GPUModel: "NVIDIA V100", GPUMemoryGiB: 16})
	is.Equal(*ws.Nodes.After, Nodes{InstanceType: v100x2, Count: 1, GPUsPerNode: 2, GPUModel: "NVIDIA V100", GPUMemoryGiB: 32})
	is.Equal(p.GPU, GPUTotals{NodesBefore: 1, NodesAfter: 1, GPUsBefore: 1, GPUsAfter: 2, MemoryGiBBefore: 16, MemoryGiBAfter: 32, PoolsCreate: 1, PoolsDelete: 1})
	var out bytes.Buffer
	is.NoErr(WriteText(&out, p))
	is.True(strings.Contains(out.String(), "forces recreate: resource.instanceType Standard_NC6s_v3 → Standard_NC12s_v3"))
}

func TestMarkdownTruncation(t *testing.T) {
	is := is.New(t)
	base, head := map[string]string{}, map[string]string{}
	for i := range 40 {
		name := fmt.Sprintf("chat-%02d", i)
		head[name+".yaml"] = phi3(name, v100, mini, "")
	}
	p, err := Compute(snap("b", base), snap("h", head), presets.Default(), Options{})
	is.NoErr(err)
	is.Equal(p.Summary.Added, 40)

	var full bytes.Buffer
	is.NoErr(WriteMarkdown(&full, p, MarkdownOptions{MaxChars: 1 << 30}))
	is.True(!strings.Contains(full.String(), "Plan truncated"))

	for _, limit := range []int{MaxMarkdown, 20_000, 3_000, 500} {
		var out bytes.Buffer
		is.NoErr(WriteMarkdown(&out, p, MarkdownOptions{MaxChars: limit}))
		s := out.String()
		is.True(full.Len() > limit)
		is.True(len(s) <= limit)                           // fits
		is.True(strings.Contains(s, "**Plan truncated**")) // and says so
		if limit >= 3_000 {
			is.True(strings.Contains(s, "| Workspace | Action |")) // the summary table is always kept
			is.Equal(strings.Count(s, "<details>"), strings.Count(s, "</details>"))
		}
		// Rows cut from the table are counted in the note; a full table is not mentioned.
		rows := strings.Count(s, "| added |")
		if rows < 40 {
			is.True(strings.Contains(s, fmt.Sprintf("the table lists %d of the 40 workspaces that change", rows)))
		} else {
			is.True(!strings.Contains(s, "the table lists"))
		}
		if limit == 3_000 {
			is.True(rows > 0 && rows < 40) // the case this test is for: the table itself is cut
		}
	}
}

func TestOnlyTouchedWorkspacesAreRendered(t *testing.T) {
	is := is.New(t)
	cat := presets.Default()
	r := render.New(cat)
	files := map[string]string{}
	for i := range 5 {
		files[fmt.Sprintf("w%d.yaml", i)] = phi3(fmt.Sprintf("w%d", i), v100, mini, "")
	}
	head := map[string]string{}
	for k, v := range files {
		head[k] = v
	}
	head["w0.yaml"] = phi3("w0", v100, mini, "adapter")
	p, err := Compute(snap("b", files), snap("h", head), cat, Options{Renderer: r})
	is.NoErr(err)
	is.Equal(p.Summary, Summary{Changed: 1, Unchanged: 4})
	is.Equal(r.CacheLen(), 2) // w0 at base and at head; the 4 untouched ones are compared by hash only
}

func TestUnifiedDiff(t *testing.T) {
	tests := []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"add", "", "x\ny\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{"remove", "x\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n"},
		{"change middle", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			"--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ntwelve\n",
			"--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+twelve\n"},
		{"insert", "a\nc\n", "a\nb\nc\n", "--- a\n+++ b\n@@ -1,2 +1,3 @@\n a\n+b\n c\n"},
		{"no newline", "a", "b", "--- a\n+++ b\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(UnifiedDiff("a", "b", tt.a, tt.b, 3), tt.want)
		})
	}
}
