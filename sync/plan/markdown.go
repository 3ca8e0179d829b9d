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
func WriteMarkdown(w io.Writer, p *Plan, opts MarkdownOptions) error {
	limit := opts.MaxChars
	if limit <= 0 {
		limit = MaxMarkdown
	}
	var head strings.Builder
	fmt.Fprintf(&head, "### kaito-sync plan: `%s` → `%s`\n\n", sideText(p.Base), sideText(p.Head))
	switch {
	case !p.Valid():
		head.WriteString("❌ **Head has invalid workspaces**: they would not be applied.\n\n")
	case !p.HasChanges():
		head.WriteString("✅ No changes.\n\n")
	}
	fmt.Fprintf(&head, "**%s**  \n%s\n\n", p.SummaryLine(), p.GPULine())

	var rows []*Workspace
	for _, ws := range p.Workspaces {
		if ws.Action != Unchanged {
			rows = append(rows, ws)
		}
	}
	if len(rows) > 0 {
		head.WriteString("| Workspace | Action | Recreate | Objects | GPU nodes |\n|---|---|---|---|---|\n")
		for _, ws := range rows {
			rec := ""
			if ws.Recreate {
				rec = "⚠️ yes"
			}
			fmt.Fprintf(&head, "| `%s` | %s | %s | %d | %s |\n", ws.Key, ws.Action, rec, len(ws.Objects), cell(ws.Nodes.String()))
		}
		head.WriteString("\n")
	}
	if len(p.Problems) > 0 {
		head.WriteString("#### Problems at head\n\n```\n")
		for _, pr := range p.Problems {
			head.WriteString(pr.String())
			head.WriteByte('\n')
		}
		head.WriteString("```\n\n")
	}

	liveHead, liveSections := liveMarkdown(p)
	head.WriteString(liveHead)
	var sections []string
	for _, ws := range rows {
		sections = append(sections, markdownDetails(ws))
	}
	sections = append(sections, liveSections...)

	note := func(left int) string {
		return fmt.Sprintf("\n> ⚠️ **Plan truncated** to fit a comment (%d characters): the details of %d of %d workspaces are left out. Run `kaito-sync plan -o text` for the full plan.\n",
			limit, left, len(sections))
	}
	out := head.String()
	if len(out) > limit {
		cut := truncateAt(out, limit-len(note(len(sections)))-1)
		_, err := io.WriteString(w, cut+"\n"+note(len(sections)))
		return err
	}
	var b strings.Builder
	b.WriteString(out)
	for i, s := range sections {
		if b.Len()+len(s)+len(note(len(sections)-i)) > limit {
			b.WriteString(note(len(sections) - i))
			_, err := io.WriteString(w, b.String())
			return err
		}
		b.WriteString(s)
	}
	_, err := io.WriteString(w, b.String())
	return err
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
