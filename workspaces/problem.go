// Package workspaces reads Kaito Workspace files (kaito.sh/v1alpha1 and v1beta1) and the companion
// objects users keep beside them, and judges them as Kaito's admission webhook would. Every verdict is
// a Problem that names the file, line, column, workspace and field, so a person can act on it.
package workspaces

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says whether a Problem blocks the workspace.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Problem is one verdict on user input. Problems are values passed up to the CLI, the sync loop, the
// status branch and plan; they are never only log lines.
type Problem struct {
	Severity Severity `json:"severity"`
	Path     string   `json:"path"`
	Line     int      `json:"line,omitempty"`
	Col      int      `json:"col,omitempty"`
	// Workspace is "namespace/name" when known.
	Workspace string `json:"workspace,omitempty"`
	// Field is the field path inside the document, e.g. "inference.adapters[1].strength".
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// String renders the problem the way compilers do, so editors can jump to it:
// path:line:col: namespace/name: field: message.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Path)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, max(p.Col, 1))
	}
	b.WriteString(": ")
	if p.Workspace != "" {
		b.WriteString(p.Workspace)
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	if p.Severity == Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Pos is a place in a file.
type Pos struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.Path, p.Line, p.Col) }

// Problems is a list of verdicts with the queries every caller needs.
type Problems []Problem

// HasErrors reports whether any problem is an error (warnings never fail a workspace).
func (ps Problems) HasErrors() bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Severity == Error })
}

// Errors returns only the errors.
func (ps Problems) Errors() Problems {
	return slices.DeleteFunc(slices.Clone(ps), func(p Problem) bool { return p.Severity != Error })
}

// Sort orders problems by file, line and column so output is stable.
func (ps Problems) Sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
