package conformance

import (
	"testing"

	"github.com/matryer/is"
)

// An object the operator creates that the render lacks is a difference whatever ignoreExtra
// says: it only excuses objects on the got side.
func TestDiffMissingObject(t *testing.T) {
	is := is.New(t)
	want := project(t, readCase(t, "01-phi-4-mini-vllm", "kaito.yaml"))
	got := project(t, readCase(t, "01-phi-4-mini-vllm", "kaito.yaml"))
	delete(got, Key{"Service", "default", "workspace-phi-4-mini-headless"})
	ignoreAll := func(kind, name string) bool { return true }
	is.Equal(Diff(want, got, ignoreAll), []string{
		"Service/default/workspace-phi-4-mini-headless: object: want present got <missing>",
	})
}

func TestDiffLines(t *testing.T) {
	k := Key{"StatefulSet", "default", "ws"}
	tests := []struct {
		name      string
		want, got Fields
		lines     []string
	}{
		{
			name:  "field missing",
			want:  Fields{"container main: env HF_TOKEN": `{"secretKeyRef":{"name":"hf-token","key":"HF_TOKEN"}}`},
			got:   Fields{},
			lines: []string{`StatefulSet/default/ws: container main: env HF_TOKEN: want {"secretKeyRef":{"name":"hf-token","key":"HF_TOKEN"}} got <missing>`},
		},
		{
			name:  "field extra, multi-line value quoted onto one line",
			want:  Fields{},
			got:   Fields{"data a": "x\ny"},
			lines: []string{`StatefulSet/default/ws: data a: want <missing> got "x\ny"`},
		},
		{
			name:  "multi-line values: first differing line",
			want:  Fields{"data a": "x\ny\nz"},
			got:   Fields{"data a": "x\ny"},
			lines: []string{`StatefulSet/default/ws: data a: want (line 3) "z" got <end>`},
		},
		{
			name:  "sorted by path",
			want:  Fields{"b": "1", "a": "1", "same": "s"},
			got:   Fields{"b": "2", "a": "2", "same": "s"},
			lines: []string{"StatefulSet/default/ws: a: want 1 got 2", "StatefulSet/default/ws: b: want 1 got 2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(Diff(Projection{k: tc.want}, Projection{k: tc.got}, nil), tc.lines)
		})
	}
}

func TestProjectRefusesDuplicates(t *testing.T) {
	is := is.New(t)
	objs := decode(t, readCase(t, "01-phi-4-mini-vllm", "kaito.yaml"))
	_, err := Project(append(objs, objs[0]))
	is.True(err != nil) // two objects of one kind and name cannot both be matched
}

func TestDecodeYAML(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		names []string // decoded objects' names; nil when err
		err   bool
	}{
		{
			name:  "documents, empty and comment-only ones skipped",
			yaml:  "---\n# nothing\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n",
			names: []string{"a", "b"},
		},
		{
			name:  "a List is read as its items",
			yaml:  "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: b\n",
			names: []string{"a", "b"},
		},
		{name: "a document without kind", yaml: "apiVersion: v1\nmetadata:\n  name: a\n", err: true},
		{name: "not YAML", yaml: "a: [\n", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			objs, err := DecodeYAML([]byte(tc.yaml))
			if tc.err {
				is.True(err != nil)
				return
			}
			is.NoErr(err)
			var names []string
			for _, o := range objs {
				names = append(names, o.GetName())
			}
			is.Equal(names, tc.names)
		})
	}
}

// Numbers stay int64 after decoding, so typed conversion reads replicas, ports and thresholds.
func TestDecodeYAMLKeepsIntegers(t *testing.T) {
	is := is.New(t)
	objs := decode(t, readCase(t, "06-multi-node-llama-70b", "kaito.yaml"))
	for _, o := range objs {
		if o.GetKind() == "StatefulSet" {
			replicas, ok := o.Object["spec"].(map[string]any)["replicas"].(int64)
			is.True(ok)
			is.Equal(replicas, int64(3))
		}
	}
}
