package workspaces

import (
	"regexp"
	"strconv"
	"strings"
)

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// childField appends a mapping key to a field path: "inference" + "preset" → "inference.preset";
// keys that are not identifiers are quoted: labels["kaito.sh/workspace"].
func childField(parent, key string) string {
	if !plainKey.MatchString(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// indexField appends a sequence index: "inference.adapters" + 1 → "inference.adapters[1]".
func indexField(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parentField strips the last step of a field path.
func parentField(f string) string {
	if strings.HasSuffix(f, "]") {
		// Find the '[' that opens the last step, skipping brackets inside a quoted key.
		if i := strings.LastIndex(f, "[\""); i >= 0 && strings.HasSuffix(f, "\"]") {
			return f[:i]
		}
		if i := strings.LastIndexByte(f, '['); i >= 0 {
			return f[:i]
		}
	}
	if i := strings.LastIndexByte(f, '.'); i >= 0 {
		return f[:i]
	}
	return ""
}
