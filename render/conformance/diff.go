package conformance

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// missing stands for an absent object or field in a difference.
const missing = "<missing>"

// Diff lists where got differs from want, one line per object or field, sorted:
//
//	StatefulSet/default/ws: container main: env HF_TOKEN: want {"secretKeyRef":…} got <missing>
//
// An object only in want is a difference. An object only in got is one too unless ignoreExtra
// (which may be nil) accepts its kind and name: kaito-sync also renders the companions declared
// beside a workspace, which Kaito's operator does not create (see Declared).
func Diff(want, got Projection, ignoreExtra func(kind, name string) bool) []string {
	var out []string
	for _, k := range sortedKeys(want, got) {
		w, inWant := want[k]
		g, inGot := got[k]
		switch {
		case !inGot:
			out = append(out, fmt.Sprintf("%s: object: want present got %s", k, missing))
		case !inWant:
			if ignoreExtra == nil || !ignoreExtra(k.Kind, k.Name) {
				out = append(out, fmt.Sprintf("%s: object: want %s got present", k, missing))
			}
		default:
			out = append(out, diffFields(k, w, g)...)
		}
	}
	return out
}

// Declared accepts the objects of objs by kind and name, for Diff's ignoreExtra: pass it the
// objects of a case's workspace.yaml (the Workspace and its companions).
func Declared(objs []*unstructured.Unstructured) func(kind, name string) bool {
	declared := map[[2]string]bool{}
	for _, o := range objs {
		declared[[2]string{o.GetKind(), o.GetName()}] = true
	}
	return func(kind, name string) bool { return declared[[2]string{kind, name}] }
}

func diffFields(k Key, want, got Fields) []string {
	var out []string
	for _, path := range slices.Sorted(maps.Keys(union(want, got))) {
		w, inWant := want[path]
		g, inGot := got[path]
		if inWant && inGot && w == g {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s: %s", k, path, wantGot(w, inWant, g, inGot)))
	}
	return out
}

// wantGot shows two differing values on one line. A multi-line value (a script, a ConfigMap
// file) shows only its first differing line; word lists (commands) add the words that differ, as
// a 40-word command is hard to compare by eye.
func wantGot(w string, inWant bool, g string, inGot bool) string {
	if !inWant || !inGot {
		return fmt.Sprintf("want %s got %s", show(w, inWant), show(g, inGot))
	}
	if strings.Contains(w, "\n") || strings.Contains(g, "\n") {
		wl, gl := strings.Split(w, "\n"), strings.Split(g, "\n")
		i := 0
		for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
			i++
		}
		return fmt.Sprintf("want (line %d) %s got %s", i+1, lineAt(wl, i), lineAt(gl, i))
	}
	return fmt.Sprintf("want %s got %s%s", w, g, wordsHint(w, g))
}

func show(v string, present bool) string {
	if !present {
		return missing
	}
	if strings.Contains(v, "\n") {
		return strconv.Quote(v)
	}
	return v
}

func lineAt(lines []string, i int) string {
	if i >= len(lines) {
		return "<end>"
	}
	return strconv.Quote(lines[i])
}

// wordsHint names the words only one of two word lists has, or says they differ in order only.
// It is empty for values that are not word lists.
func wordsHint(w, g string) string {
	var ww, gw []string
	if json.Unmarshal([]byte(w), &ww) != nil || json.Unmarshal([]byte(g), &gw) != nil {
		return ""
	}
	onlyW, onlyG := subtract(ww, gw), subtract(gw, ww)
	if len(onlyW) == 0 && len(onlyG) == 0 {
		return " (same words, another order)"
	}
	return fmt.Sprintf(" (only in want: %s; only in got: %s)", strings.Join(onlyW, " "), strings.Join(onlyG, " "))
}

// subtract is a minus b as multisets, in a's order.
func subtract(a, b []string) []string {
	left := map[string]int{}
	for _, s := range b {
		left[s]++
	}
	var out []string
	for _, s := range a {
		if left[s] > 0 {
			left[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

func sortedKeys(a, b Projection) []Key {
	keys := slices.Collect(maps.Keys(union(a, b)))
	slices.SortFunc(keys, func(x, y Key) int {
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
	})
	return keys
}

// union is a map holding the keys of both a and b (values from b where both have one).
func union[K comparable, V any](a, b map[K]V) map[K]V {
	u := maps.Clone(a)
	if u == nil {
		u = map[K]V{}
	}
	maps.Copy(u, b)
	return u
}
