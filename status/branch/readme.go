package branch

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
)

// markers make a row's state visible without reading its columns.
var markers = map[string]string{
	status.StateReady:      "🟢",
	status.StateInProgress: "🟡",
	status.StateFailing:    "🔴 **FAILING**",
	status.StateUnknown:    "⚪",
}

// Readme is the dashboard: a picture, the table, then what is failing and why, with file:line.
func Readme(rep *status.Report, link LinkFunc) []byte {
	if link == nil {
		link = func(string, int, string) string { return "" }
	}
	var b bytes.Buffer
	b.WriteString("# Kaito workspaces\n\n")
	b.WriteString("<!-- Written by kaito-sync; every change here is overwritten. -->\n\n")
	fmt.Fprintf(&b, "![%s](%s)\n\n", summary(rep), SVGFile)
	commit := gitbranch.ShortCommit(rep.SourceCommit)
	at := "the working tree (no commit)"
	if commit != "" {
		at = "source commit " + mdLink(code(commit), commitLink(link, rep.SourceCommit))
	}
	fmt.Fprintf(&b, "As of %s, %s: %s. Workloads as Kaito %s creates them.\n\n",
		rep.UpdatedAt.UTC().Format("2006-01-02 15:04:05 MST"), at, summary(rep), presets.KaitoVersion)
	if rep.PruneBlocked != "" {
		// Up front: what runs is not what Git says, and the table below still lists what runs.
		fmt.Fprintf(&b, "> ⚠️ **Prune refused: nothing was removed.** %s. Workspaces no file that loaded declares are left running and listed below.\n\n", cell(rep.PruneBlocked))
	}

	if len(rep.Workspaces) == 0 {
		b.WriteString("No workspaces.\n\n")
	} else {
		b.WriteString("| | " + strings.Join(status.Columns, " | ") + " |\n")
		b.WriteString("|---" + strings.Repeat("|---", len(status.Columns)) + "|\n")
		for _, w := range rep.Workspaces {
			row := w.Row(rep.UpdatedAt)
			row[1] = mdLink(cell(w.Name), link(w.Source.Path, w.Source.Line, w.Source.Commit)) +
				" ([status](" + WorkspaceFile(w.Namespace, w.Name) + "))"
			for i := range row {
				if i != 1 {
					row[i] = cell(row[i])
				}
			}
			fmt.Fprintf(&b, "| %s | %s |\n", markers[w.State()], strings.Join(row, " | "))
		}
		b.WriteString("\n")
	}

	failing(&b, rep, link)
	if len(rep.Problems) > 0 {
		b.WriteString("## Errors in the repository\n\n")
		for _, p := range rep.Problems {
			problemLine(&b, p.String(), link(p.Path, p.Line, rep.SourceCommit))
		}
		b.WriteString("\n")
	}
	details(&b, rep)
	return b.Bytes()
}

func failing(b *bytes.Buffer, rep *status.Report, link LinkFunc) {
	var bad []*status.WorkspaceStatus
	for _, w := range rep.Workspaces {
		if w.State() == status.StateFailing {
			bad = append(bad, w)
		}
	}
	if len(bad) == 0 {
		return
	}
	b.WriteString("## Failing\n\n")
	for _, w := range bad {
		fmt.Fprintf(b, "### 🔴 %s\n\n", cell(w.Key()))
		if w.Stale != "" {
			fmt.Fprintf(b, "Not updated: %s.\n\n", cell(w.Stale))
		}
		for _, p := range w.Problems {
			problemLine(b, p.String(), link(p.Path, p.Line, w.Source.Commit))
		}
		if c := w.Condition(status.WorkspaceReady); c != nil && c.Status == status.False && c.Reason != status.ReasonValidationFailed {
			fmt.Fprintf(b, "- WorkspaceReady is False, **%s**: %s\n", cell(c.Reason), cell(c.Message))
		}
		b.WriteString("\n")
	}
}

func details(b *bytes.Buffer, rep *status.Report) {
	if len(rep.Workspaces) == 0 {
		return
	}
	b.WriteString("## Details\n\n")
	for _, w := range rep.Workspaces {
		// Markdown is not rendered inside <summary>: the marker goes without its emphasis.
		fmt.Fprintf(b, "<details><summary>%s %s</summary>\n\n", strings.ReplaceAll(markers[w.State()], "**", ""), htmlEscape(w.Key()))
		if w.Preset != "" || w.Mode != "" || w.InstanceType != "" { // all unknown when its file did not load
			fmt.Fprintf(b, "- preset %s, %s, %d × %s", code(w.Preset), dash(cell(w.Mode)), w.NodeCount, code(w.InstanceType))
			if len(w.Nodes) > 0 {
				fmt.Fprintf(b, " on %s", cell(strings.Join(w.Nodes, ", ")))
			}
			b.WriteString("\n")
		}
		if e := w.Endpoint; e != nil && e.ClusterIP != "" {
			fmt.Fprintf(b, "- endpoint: Service %s at %s", code(e.Service), code(fmt.Sprintf("%s:%d", e.ClusterIP, e.Port)))
			if e.External != "" {
				fmt.Fprintf(b, ", external %s", code(e.External))
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "- source: %s", code(w.Source.Path))
		if c := gitbranch.ShortCommit(w.Source.Commit); c != "" {
			fmt.Fprintf(b, " at %s", code(c))
		}
		b.WriteString("\n\n")
		b.WriteString("| CONDITION | STATUS | REASON | MESSAGE | SINCE |\n|---|---|---|---|---|\n")
		for _, c := range w.Conditions {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", c.Type, c.Status, cell(c.Reason), cell(c.Message),
				c.LastTransitionTime.UTC().Format("2006-01-02 15:04:05"))
		}
		if len(w.Objects) > 0 {
			b.WriteString("\n| OBJECT | HEALTH | MESSAGE |\n|---|---|---|\n")
			for _, o := range w.Objects {
				fmt.Fprintf(b, "| %s/%s | %s | %s |\n", o.Kind, cell(o.Name), cell(o.Health), cell(o.Message))
			}
		}
		b.WriteString("\n</details>\n\n")
	}
}

func summary(rep *status.Report) string {
	n := rep.Counts()
	parts := []string{fmt.Sprintf("%d workspaces", len(rep.Workspaces))}
	for _, s := range []string{status.StateReady, status.StateInProgress, status.StateFailing, status.StateUnknown} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], stateWords[s]))
		}
	}
	return strings.Join(parts, ", ")
}

var stateWords = map[string]string{
	status.StateReady: "ready", status.StateInProgress: "in progress", status.StateFailing: "failing", status.StateUnknown: "unknown",
}

func commitLink(link LinkFunc, commit string) string {
	if commit == "" {
		return ""
	}
	// The link of a file at a commit, minus the file, is the tree at the commit.
	l := link("", 0, commit)
	return strings.TrimSuffix(l, "/")
}

func problemLine(b *bytes.Buffer, text, href string) {
	fmt.Fprintf(b, "- %s\n", mdLink("`"+strings.ReplaceAll(oneLine(text), "`", "'")+"`", href))
}

func mdLink(text, href string) string {
	if href == "" {
		return text
	}
	return "[" + text + "](" + hrefEscaper.Replace(href) + ")"
}

// The replacers are built once: a strings.Replacer builds its tables on first use, and one per
// table cell was most of what a status write of 1,000 workspaces allocated.
var (
	hrefEscaper = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29")
	htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
)

// cell makes user text safe inside a Markdown table cell: one line, no column breaks, no HTML.
func cell(s string) string {
	return htmlEscape(strings.ReplaceAll(oneLine(s), "|", `\|`))
}

// code is s as a code span, or an em dash when s is empty: an empty span renders as two
// backticks.
func code(s string) string {
	if s = cell(s); s == "" {
		return "—"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func htmlEscape(s string) string {
	return htmlEscaper.Replace(s)
}
