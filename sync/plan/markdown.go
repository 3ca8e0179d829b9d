package plan

import (
	"fmt"
	"io"
	"strings"
)

// MarkdownOptions configure WriteMarkdown.
type MarkdownOptions struct {
	// MaxChars bounds the output (0 means MaxMarkdown, what a GitHub comment holds). Details that do
	// not fit are left out with a note saying so; the summary always comes first.
	MaxChars int
}

// WriteMarkdown writes the plan as a pull-request comment: a summary table, head's problems, then
// one <details> section per workspace that changes.
//
// Cut to fit MaxChars, it keeps whole pieces, in order — the summary, then table rows, then the
// problems, then the details — and ends with a note naming what was left out: table rows, the
// problems, details. A reader is never left with a table that silently lists fewer workspaces.
func WriteMarkdown(w io.Writer, p *Plan, opts MarkdownOptions) error {
	limit := opts.MaxChars
	if limit <= 0 {
		limit = MaxMarkdown
	}
	var top strings.Builder
	fmt.Fprintf(&top, "### kaito-sync plan: `%s` → `%s`\n\n", sideText(p.Base), sideText(p.Head))
	switch {
	case !p.Valid():
		top.WriteString("❌ **Head has invalid workspaces**: they would not be applied.\n\n")
	case !p.HasChanges():
		top.WriteString("✅ No changes.\n\n")
	}
	if p.PruneRefused != "" {
		fmt.Fprintf(&top, "⚠️ **The sync would refuse to prune**: no removed workspace would be deleted — %s.\n\n", p.PruneRefused)
	}
	fmt.Fprintf(&top, "**%s**  \n%s\n\n", p.SummaryLine(), p.GPULine())

	var rows []*Workspace
	var rowText []string
	for _, ws := range p.Workspaces {
		if ws.Action == Unchanged {
			continue
		}
		rec := ""
		if ws.Recreate {
			rec = "⚠️ yes"
		}
		act := string(ws.Action)
		if ws.Action == Removed && p.PruneRefused != "" {
			act += " (prune refused)"
		}
		rows = append(rows, ws)
		rowText = append(rowText, fmt.Sprintf("| `%s` | %s | %s | %d | %s |\n", ws.Key, act, rec, len(ws.Objects), cell(ws.Nodes.String())))
	}
	const tableHead = "| Workspace | Action | Recreate | Objects | GPU nodes |\n|---|---|---|---|---|\n"
	var problems string
	if len(p.Problems) > 0 {
		var b strings.Builder
		b.WriteString("#### Problems at head\n\n```\n")
		for _, pr := range p.Problems {
			b.WriteString(pr.String())
			b.WriteByte('\n')
		}
		b.WriteString("```\n\n")
		problems = b.String()
	}
	liveHead, liveSections := liveMarkdown(p)
	var sections []string
	for _, ws := range rows {
		sections = append(sections, markdownDetails(ws))
	}
	sections = append(sections, liveSections...)

	// What was left out; the note is sized for the most it can say.
	var cut cutNote
	cut.rows, cut.sections = len(rows), len(sections)
	cut.rowsShown, cut.sectionsShown = len(rows), len(sections)
	noteRoom := len(cutNote{rows: len(rows), sections: len(sections), problemsOut: len(p.Problems) > 0, liveOut: liveHead != ""}.String(limit)) + 1

	var b strings.Builder
	fits := func(s string) bool { return b.Len()+len(s)+noteRoom <= limit }
	total := top.Len() + len(problems) + len(liveHead)
	if len(rows) > 0 {
		total += len(tableHead) + 1
	}
	for _, r := range rowText {
		total += len(r)
	}
	for _, s := range sections {
		total += len(s)
	}
	if total <= limit {
		noteRoom = 0 // everything fits: no note
	}
	b.WriteString(truncateAt(top.String(), limit-noteRoom))
	if len(rows) > 0 {
		cut.rowsShown = 0
		if fits(tableHead + rowText[0] + "\n") {
			b.WriteString(tableHead)
			for _, r := range rowText {
				if !fits(r + "\n") {
					break
				}
				b.WriteString(r)
				cut.rowsShown++
			}
			b.WriteString("\n")
		}
	}
	if problems != "" {
		if cut.rowsShown == len(rows) && fits(problems) {
			b.WriteString(problems)
		} else {
			cut.problemsOut = true
		}
	}
	if liveHead != "" {
		if !cut.problemsOut && cut.rowsShown == len(rows) && fits(liveHead) {
			b.WriteString(liveHead)
		} else {
			cut.liveOut = true
		}
	}
	cut.sectionsShown = 0
	if !cut.problemsOut && !cut.liveOut && cut.rowsShown == len(rows) {
		for _, s := range sections {
			if !fits(s) {
				break
			}
			b.WriteString(s)
			cut.sectionsShown++
		}
	}
	if cut.cut() {
		b.WriteString("\n")
		b.WriteString(cut.String(limit))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cutNote says what WriteMarkdown left out to fit.
type cutNote struct {
	rows, rowsShown         int
	sections, sectionsShown int
	problemsOut, liveOut    bool
}

func (c cutNote) cut() bool {
	return c.rowsShown < c.rows || c.sectionsShown < c.sections || c.problemsOut || c.liveOut
}

func (c cutNote) String(limit int) string {
	var out []string
	if c.rowsShown < c.rows {
		out = append(out, fmt.Sprintf("the table lists %d of the %d workspaces that change", c.rowsShown, c.rows))
	}
	if c.problemsOut {
		out = append(out, "head's problems are left out")
	}
	if c.liveOut {
		out = append(out, "the live cluster summary is left out")
	}
	if c.sectionsShown < c.sections {
		out = append(out, fmt.Sprintf("the details of %d of %d sections are left out", c.sections-c.sectionsShown, c.sections))
	}
	return fmt.Sprintf("> ⚠️ **Plan truncated** to fit a comment (%d characters): %s. Run `kaito-sync plan -o text` for the full plan.\n",
		limit, strings.Join(out, "; "))
}

func markdownDetails(ws *Workspace) string {
	var b strings.Builder
	summary := fmt.Sprintf("%s <code>%s</code>", ws.Action, ws.Key)
	if ws.Recreate {
		summary += " — forces recreate"
	}
	fmt.Fprintf(&b, "<details><summary>%s</summary>\n\n", summary)
	if ws.Path != "" {
		fmt.Fprintf(&b, "Declared in `%s`", ws.Path)
		if ws.Line > 0 {
			fmt.Fprintf(&b, " line %d", ws.Line)
		}
		b.WriteString(".\n\n")
	}
	for _, pr := range ws.Problems {
		fmt.Fprintf(&b, "- ❌ `%s`\n", pr.String())
	}
	if ws.RenderError != "" {
		fmt.Fprintf(&b, "- ❌ %s\n", ws.RenderError)
	}
	for _, pr := range ws.BaseProblems {
		fmt.Fprintf(&b, "- ℹ️ %s `%s`\n", baseInvalidText, pr.String())
	}
	for _, c := range ws.Changes {
		mark := ""
		if c.Immutable {
			mark = "⚠️ "
		}
		fmt.Fprintf(&b, "- %s`%s`\n", mark, changeText(c))
	}
	if ws.Nodes.Changed() {
		fmt.Fprintf(&b, "- GPU nodes: %s\n", ws.Nodes)
	}
	b.WriteString("\n")
	for _, o := range ws.Objects {
		fmt.Fprintf(&b, "**%s** `%s`\n\n", o.Action, o.Ref())
		fence := "```"
		for strings.Contains(o.Diff, fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "%sdiff\n%s%s\n\n", fence, o.Diff, fence)
	}
	b.WriteString("</details>\n\n")
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// truncateAt cuts s to at most n bytes on a line boundary.
func truncateAt(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[:i+1]
	}
	return ""
}
