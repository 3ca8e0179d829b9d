package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// null is written as YAML null. In a strategic-merge patch a null deletes the field it names
// (for instance a probe's httpGet when the overlay swaps it for an exec probe); everywhere else
// nulls are dropped, so typed Kubernetes structs do not leak "creationTimestamp: null".
type null struct{}

// keyOrder puts the keys a reader looks for first at the top of every mapping; the rest follow in
// alphabetical order. The same order is used for overlay files and for printed objects.
var keyOrder = func() map[string]int {
	m := map[string]int{}
	for i, k := range []string{"apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations",
		"spec", "image", "command", "args"} {
		m[k] = i + 1
	}
	return m
}()

func keyLess(a, b string) int {
	oa, ob := keyOrder[a], keyOrder[b]
	switch {
	case oa != 0 && ob != 0:
		return oa - ob
	case oa != 0:
		return -1
	case ob != 0:
		return 1
	}
	return strings.Compare(a, b)
}

// plain turns v (maps, slices, typed Kubernetes structs) into JSON-shaped values with integers
// kept as int64, honouring json tags. null sentinels survive; JSON nulls are dropped.
func plain(v any) (any, error) {
	switch x := v.(type) {
	case null:
		return x, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			p, err := plain(e)
			if err != nil {
				return nil, err
			}
			if p != nil {
				out[k] = p
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			p, err := plain(e)
			if err != nil {
				return nil, err
			}
			if p != nil {
				out = append(out, p)
			}
		}
		return out, nil
	case string, bool, int64, float64, nil:
		return x, nil
	case int:
		return int64(x), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return fromJSON(out), nil
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = fromJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fromJSON(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// node builds the YAML node of a plain value, ordering mapping keys with keyLess.
func node(v any) (*yaml.Node, error) {
	switch x := v.(type) {
	case null:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, keyLess)
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range keys {
			vn, err := node(x[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, vn)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range x {
			en, err := node(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, en)
		}
		return n, nil
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return n, nil
}

// marshalYAML writes v as one YAML document, keys ordered by keyLess, two-space indents.
func marshalYAML(v any) ([]byte, error) {
	p, err := plain(v)
	if err != nil {
		return nil, err
	}
	n, err := node(p)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// file is a generated overlay file: a comment header, then the document.
func file(comment string, v any) ([]byte, error) {
	body, err := marshalYAML(v)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(comment, "\n"), "\n") {
		if line == "" {
			b.WriteString("#\n")
			continue
		}
		fmt.Fprintf(&b, "# %s\n", line)
	}
	b.Write(body)
	return b.Bytes(), nil
}
