package render

import (
	"maps"
	"slices"
	"strings"
)

// options are the command-line options of one program, name → value; "" is a bare option (--name).
// Kaito keeps them in Go maps, so the order it writes them in changes from run to run; kaito-sync
// writes them sorted, so a render is the same bytes every time and a diff shows only real changes.
type options map[string]string

func (o options) clone() options {
	if o == nil {
		return options{}
	}
	return maps.Clone(o)
}

// after appends the options to program: "program --a=1 --b".
func (o options) after(program string) string {
	var b strings.Builder
	b.WriteString(program)
	for _, k := range slices.Sorted(maps.Keys(o)) {
		b.WriteString(" --")
		b.WriteString(k)
		if v := o[k]; v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	return b.String()
}

// shell is how Kaito runs every server and trainer: one line given to /bin/sh -c.
func shell(line string) []string { return []string{"/bin/sh", "-c", line} }

// ifElse is a one-line shell conditional.
func ifElse(cond, then, otherwise string) string {
	return "if " + cond + "; then " + then + "; else " + otherwise + "; fi"
}
