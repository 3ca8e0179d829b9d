package workspaces

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
)

// nodeDecoder turns a parsed YAML node tree into typed values strictly: an unknown field, a wrong
// type or a duplicate key is a Problem at its own line, never silently dropped. It walks the tree
// itself (rather than going through JSON like sigs.k8s.io/yaml) so that every error keeps its
// position and field path, and so that alias expansion and nesting are bounded: a "billion laughs"
// document runs out of budget after MaxNodes steps instead of expanding in memory.
type nodeDecoder struct {
	file     string
	maxDepth int
	budget   int // nodes left to visit, aliases expanded
	exceeded bool

	// secret: the document is a Secret, whose values are never quoted in a problem.
	secret bool

	fields       map[string]Pos
	placeholders map[string]string
	problems     Problems
}

func newNodeDecoder(file string, opts Options) *nodeDecoder {
	return &nodeDecoder{file: file, maxDepth: opts.MaxDepth, budget: opts.MaxNodes, fields: map[string]Pos{}, placeholders: map[string]string{}}
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

func (d *nodeDecoder) pos(n *yaml.Node) Pos { return Pos{Path: d.file, Line: n.Line, Col: n.Column} }

func (d *nodeDecoder) errorf(n *yaml.Node, field, format string, args ...any) {
	d.problems = append(d.problems, Problem{
		Severity: Error, Path: d.file, Line: n.Line, Col: n.Column, Field: field,
		Message: fmt.Sprintf(format, args...),
	})
}

// enter spends budget on one node and reports whether decoding may go on.
func (d *nodeDecoder) enter(n *yaml.Node, field string, depth int) bool {
	if d.exceeded {
		return false
	}
	d.budget--
	if d.budget < 0 {
		d.exceeded = true
		d.errorf(n, field, "document is too large once YAML aliases are expanded (more than the limit of nodes); refusing it")
		return false
	}
	if depth > d.maxDepth {
		d.exceeded = true
		d.errorf(n, field, "document nests deeper than %d levels; refusing it", d.maxDepth)
		return false
	}
	return true
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") || (n.Kind == yaml.DocumentNode && len(n.Content) == 0)
}

// secretField reports whether field holds a credential or the name of one, whose value a problem
// must not quote: a Secret's data (anything but its metadata), and the workspace fields naming a
// Secret, where people paste the token itself.
func (d *nodeDecoder) secretField(field string) bool {
	if d.secret {
		return !strings.HasPrefix(field, "metadata") && field != "apiVersion" && field != "kind" && field != "type"
	}
	return isSecretNameField(field)
}

// isSecretNameField reports whether a workspace field names a Secret (modelAccessSecret,
// imagePullSecrets, imagePushSecret).
func isSecretNameField(field string) bool {
	if i := strings.LastIndexByte(field, '['); i >= 0 && strings.HasSuffix(field, "]") {
		field = field[:i] // imagePullSecrets[1]
	}
	return strings.HasSuffix(field, "modelAccessSecret") || strings.HasSuffix(field, "imagePullSecrets") ||
		strings.HasSuffix(field, "imagePushSecret")
}

// describeAt is describe, without the value in a field that may hold a credential.
func (d *nodeDecoder) describeAt(n *yaml.Node, field string) string {
	if !d.secretField(field) || n.Kind != yaml.ScalarNode {
		return describe(n)
	}
	switch n.Tag {
	case "!!str":
		return "a string (not shown: it may be a credential)"
	case "!!int", "!!float":
		return "a number (not shown: it may be a credential)"
	}
	return "a value (not shown: it may be a credential)"
}

// describe names what a node is, for type errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	case "!!null":
		return "null"
	}
	return fmt.Sprintf("%q", n.Value)
}

type pair struct{ key, value *yaml.Node }

// pairs lists a mapping's entries, expanding YAML merge keys ("<<: *base"); explicit keys win over
// merged ones, as in the YAML merge spec.
func (d *nodeDecoder) pairs(n *yaml.Node, field string, depth int) []pair {
	var explicit, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			for _, src := range mergeSources(v) {
				if !d.enter(src, field, depth+1) {
					return nil
				}
				merged = append(merged, d.pairs(src, field, depth+1)...)
			}
			continue
		}
		explicit = append(explicit, pair{k, v})
	}
	if len(merged) == 0 {
		return explicit
	}
	have := map[string]bool{}
	for _, p := range explicit {
		have[resolve(p.key).Value] = true
	}
	for _, p := range merged {
		if k := resolve(p.key).Value; !have[k] {
			have[k] = true
			explicit = append(explicit, p)
		}
	}
	return explicit
}

func mergeSources(v *yaml.Node) []*yaml.Node {
	v = resolve(v)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.MappingNode {
		return []*yaml.Node{v}
	}
	var out []*yaml.Node
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			if c = resolve(c); c != nil && c.Kind == yaml.MappingNode {
				out = append(out, c)
			}
		}
	}
	return out
}

// decode fills v from n. field is the path of v in the document, used in problems and recorded in
// the position index.
func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value, field string, depth int) {
	if !d.enter(n, field, depth) {
		return
	}
	if n.Kind == yaml.AliasNode {
		d.decode(resolve(n), v, field, depth+1)
		return
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) > 0 {
			d.decode(n.Content[0], v, field, depth)
		}
		return
	}
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if v.Kind() == reflect.Pointer {
		// Decode into a fresh value and keep it only if it decoded cleanly, so that a bad value reads
		// as absent to later checks instead of as an empty one reported a second time.
		before := len(d.problems)
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), field, depth)
		if len(d.problems) == before {
			v.Set(elem)
		}
		return
	}
	// Kubernetes types with their own JSON form (Quantity, IntOrString, Time) decode through it.
	if v.CanAddr() && v.Addr().Type().Implements(jsonUnmarshaler) {
		generic := d.toAny(n, field, depth)
		if d.exceeded {
			return
		}
		raw, err := json.Marshal(generic)
		if err == nil {
			err = v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw)
		}
		if err != nil {
			d.errorf(n, field, "invalid value %s: %v", d.describeAt(n, field), err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, field, depth)
	case reflect.Map:
		d.decodeMap(n, v, field, depth)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			d.decodeViaJSON(n, v, field, depth)
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, field, "expected a list, got %s", d.describeAt(n, field))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			f := indexField(field, i)
			d.record(f, c)
			d.decode(c, s.Index(i), f, depth+1)
		}
		v.Set(s)
	case reflect.Interface:
		v.Set(reflect.ValueOf(d.toAny(n, field, depth)))
	default:
		d.decodeScalar(n, v, field)
	}
}

func (d *nodeDecoder) record(field string, n *yaml.Node) {
	if _, ok := d.fields[field]; !ok {
		d.fields[field] = d.pos(n)
	}
}

func (d *nodeDecoder) decodeViaJSON(n *yaml.Node, v reflect.Value, field string, depth int) {
	raw, err := json.Marshal(d.toAny(n, field, depth))
	if err == nil {
		err = json.Unmarshal(raw, v.Addr().Interface())
	}
	if err != nil && !d.exceeded {
		d.errorf(n, field, "invalid value %s: %v", d.describeAt(n, field), err)
	}
}

func (d *nodeDecoder) decodeStruct(n *yaml.Node, v reflect.Value, field string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, field, "expected a mapping, got %s", d.describeAt(n, field))
		return
	}
	info := structInfoOf(v.Type())
	seen := map[string]*yaml.Node{}
	for _, p := range d.pairs(n, field, depth) {
		k := resolve(p.key)
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, field, "mapping keys must be plain strings")
			continue
		}
		name := k.Value
		f := childField(field, name)
		if prev, dup := seen[name]; dup {
			d.errorf(k, f, "duplicate key %q (first at line %d)", name, prev.Line)
			continue
		}
		seen[name] = k
		idx, ok := info.byName[name]
		if !ok {
			d.errorf(k, f, "%s", unknownFieldMessage(v.Type(), name, info.names))
			continue
		}
		d.record(f, k)
		d.decode(p.value, v.FieldByIndex(idx), f, depth+1)
	}
}

func (d *nodeDecoder) decodeMap(n *yaml.Node, v reflect.Value, field string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, field, "expected a mapping, got %s", d.describeAt(n, field))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.errorf(n, field, "unsupported map type %s", v.Type())
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, p := range d.pairs(n, field, depth) {
		k := resolve(p.key)
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, field, "mapping keys must be plain strings")
			continue
		}
		f := childField(field, k.Value)
		key := reflect.ValueOf(k.Value).Convert(v.Type().Key())
		if m.MapIndex(key).IsValid() {
			d.errorf(k, f, "duplicate key %q", k.Value)
			continue
		}
		d.record(f, k)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(p.value, elem, f, depth+1)
		m.SetMapIndex(key, elem)
	}
	v.Set(m)
}

func (d *nodeDecoder) decodeScalar(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, field, "expected a %s, got %s", scalarKindName(v.Kind()), d.describeAt(n, field))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if n.Tag != "!!str" && n.Tag != "!!binary" && n.Tag != "!!timestamp" {
			// Kubernetes reads YAML as JSON, where 1.0 is a number and not a string: quoting is the fix.
			if d.secretField(field) {
				d.errorf(n, field, "expected a string, got %s: quote it", d.describeAt(n, field))
			} else {
				d.errorf(n, field, "expected a string, got %s: quote it (\"%s\")", describe(n), n.Value)
			}
			return
		}
		d.notePlaceholder(field, n.Value)
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n, field, "expected true or false, got %s", d.describeAt(n, field))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Tag != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.errorf(n, field, "expected a whole number, got %s", d.describeAt(n, field))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var i uint64
		if n.Tag != "!!int" || n.Decode(&i) != nil || v.OverflowUint(i) {
			d.errorf(n, field, "expected a non-negative whole number, got %s", d.describeAt(n, field))
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		var f float64
		if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, field, "expected a number, got %s", d.describeAt(n, field))
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n, field, "unsupported field type %s", v.Type())
	}
}

func scalarKindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	default:
		return "whole number"
	}
}

// toAny converts a node to the plain values JSON would hold, spending budget on every node so that
// aliases cannot blow it up.
func (d *nodeDecoder) toAny(n *yaml.Node, field string, depth int) any {
	if !d.enter(n, field, depth) {
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		return d.toAny(resolve(n), field, depth+1)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return d.toAny(n.Content[0], field, depth)
	case yaml.MappingNode:
		m := map[string]any{}
		for _, p := range d.pairs(n, field, depth) {
			k := resolve(p.key)
			f := childField(field, k.Value)
			if _, dup := m[k.Value]; dup {
				d.errorf(k, f, "duplicate key %q", k.Value)
				continue
			}
			d.record(f, k)
			m[k.Value] = d.toAny(p.value, f, depth+1)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			f := indexField(field, i)
			d.record(f, c)
			s[i] = d.toAny(c, f, depth+1)
		}
		return s
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		var x any
		if err := n.Decode(&x); err == nil {
			if f, ok := x.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				return n.Value
			}
			return x
		}
	}
	d.notePlaceholder(field, n.Value)
	return n.Value
}

func (d *nodeDecoder) notePlaceholder(field, s string) {
	if placeholder(s) != "" {
		d.placeholders[field] = s
	}
}

// reportPlaceholders turns placeholders into problems, except in fields that already have one.
func (d *nodeDecoder) reportPlaceholders() {
	fields := make([]string, 0, len(d.placeholders))
	for f := range d.placeholders {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if slices.ContainsFunc(d.problems, func(p Problem) bool { return p.Field == f }) {
			continue
		}
		at := d.fields[f]
		d.problems = append(d.problems, Problem{Severity: Error, Path: d.file, Line: at.Line, Col: at.Col, Field: f,
			Message: placeholderMessage(placeholder(d.placeholders[f]))})
	}
}

// structInfo maps JSON field names to struct field indexes, following inline embedded structs.
type structInfo struct {
	byName map[string][]int
	names  []string
}

var structInfos sync.Map // reflect.Type → *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string][]int{}}
	collectFields(t, nil, si)
	sort.Strings(si.names)
	structInfos.Store(t, si)
	return si
}

func collectFields(t reflect.Type, prefix []int, si *structInfo) {
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(append([]int(nil), prefix...), i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct && (name == "" || strings.Contains(opts, "inline")) {
			collectFields(sf.Type, idx, si)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, dup := si.byName[name]; !dup {
			si.byName[name] = idx
			si.names = append(si.names, name)
		}
	}
}

// unknownFieldMessage names an unknown field and, when it looks like a typo, the field meant.
func unknownFieldMessage(t reflect.Type, name string, known []string) string {
	if t == reflect.TypeFor[Workspace]() && name == "spec" {
		return `unknown field "spec": Kaito workspaces have no spec; put resource, inference and tuning at the top level beside metadata`
	}
	if guess := closest(name, known); guess != "" {
		return fmt.Sprintf("unknown field %q (did you mean %q?)", name, guess)
	}
	return fmt.Sprintf("unknown field %q", name)
}

// closest returns the known name a typo most likely meant: same letters in another case, or within
// two edits.
func closest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if dist := editDistance(strings.ToLower(name), strings.ToLower(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
