package workspaces

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/matryer/is"
)

// A YAML syntax error names the line and column of the problem, not the line before it or the
// start of the mapping it broke (yaml.v3 reports those, and no column).
func TestYAMLSyntaxErrorPositions(t *testing.T) {
	const head = "apiVersion: kaito.sh/v1beta1\nkind: Workspace\nmetadata:\n"
	tests := []struct {
		name, doc, want string // want: "line:col: message"
	}{
		{"tab indentation of a key", head + "\tname: x\n", "4:1: invalid YAML: found character that cannot start any token"},
		{"tab after a nested mapping", "a: 1\nb:\n  c: 2\n\td: 3\n", "4:1: invalid YAML: found a tab character that violates indentation"},
		{"a key indented too far", head + "  name: x\n   namespace: y\n", "5:13: invalid YAML: mapping values are not allowed in this context"},
		{"a key indented too little", "a:\n  b: 1\n c: 2\n", "3:2: invalid YAML: did not find expected key"},
		{"a key indented too little, deeper", "a:\n  b:\n    c: 1\n   d: 2\n", "4:4: invalid YAML: did not find expected key"},
		{"an unclosed '{'", "a: 1\nb: {c: 1\nd: 2\n", "2:5: invalid YAML: did not find expected ',' or '}'"},
		{"an unclosed '{' on the first line", "{c: 1\nd: 2\n", "1:5: invalid YAML: did not find expected ',' or '}'"},
		{"an unclosed '['", "a: 1\nb: [1, 2\nc: 3\n", "2:5: invalid YAML: did not find expected ',' or ']'"},
		{"an unclosed quote", "a: 1\nb: \"abc\nc: 3\n", "2:4: invalid YAML: found unexpected end of stream"},
		{"a second ': ' on a line", "a: 1\nb: c: d\ne: 1\n", "2:5: invalid YAML: mapping values are not allowed in this context"},
		{"an unclosed list at the end", head + "metadata: [\n", "4:11: invalid YAML: did not find expected node content"},
		{"a key among list items", "a:\n  - x\n  y: 2\n", "3:4: invalid YAML: did not find expected '-' indicator"},
		{"a character that starts no token", "a: 1\nb: @x\n", "2:4: invalid YAML: found character that cannot start any token"},
		// "---" in an unclosed quote is text, not the next document (the fuzzer's find: it panicked).
		{"a document marker inside an unclosed quote", "'\n---", "2:3: invalid YAML: found unexpected document indicator"},
		{"a document marker inside an unclosed double quote", "a: \"b\n---\nc: 1\n", "2:3: invalid YAML: found unexpected document indicator"},
		{"a document marker inside an unclosed '['", "a: [\n---\nb: 1\n", "1:4: invalid YAML: did not find expected node content"},
		{"in the second document", head + "  name: a\n---\n" + head + "  name: b\n\tnamespace: c\n", "10:1: invalid YAML: found a tab character that violates indentation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s, err := Load(fstest.MapFS{"ws.yaml": {Data: []byte(tt.doc)}}, ".", Options{})
			is.NoErr(err)
			var got []string
			for _, p := range s.Problems {
				if strings.Contains(p.Message, "invalid YAML") {
					got = append(got, p.String())
				}
			}
			is.Equal(got, []string{"ws.yaml:" + tt.want})
			is.Equal(s.Broken, []string{"ws.yaml"}) // nothing is pruned on its account
		})
	}
}

// The search for the position is bounded: a large broken document costs a few parses of it.
func TestYAMLSyntaxErrorPositionIsBounded(t *testing.T) {
	is := is.New(t)
	var b strings.Builder
	b.WriteString("items:\n")
	for b.Len() < 900_000 {
		b.WriteString("  - {name: item, value: 1}\n")
	}
	b.WriteString("  - {name: broken, value: 1\n")
	doc := b.String()
	s, err := Load(fstest.MapFS{"ws.yaml": {Data: []byte(doc)}}, ".", Options{})
	is.NoErr(err)
	is.Equal(len(s.Problems), 1)
	is.True(strings.Contains(s.Problems[0].Message, "invalid YAML"))
	is.True(s.Problems[0].Line >= strings.Count(doc, "\n")-1) // on the broken item's line, or the end
}
