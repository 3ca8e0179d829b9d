package branch

import (
	"bytes"
	"fmt"
	"html"

	"github.com/kaito-sync/kaito-sync/status"
)

// Colours of states and condition statuses (GitHub's palette, readable in light and dark mode).
var (
	stateColour = map[string]string{
		status.StateReady: "#2da44e", status.StateInProgress: "#d29922", status.StateFailing: "#cf222e", status.StateUnknown: "#8c959f",
	}
	condColour = map[status.ConditionStatus]string{status.True: "#2da44e", status.False: "#cf222e", status.Unknown: "#8c959f", "": "#d0d7de"}
)

const (
	svgWidth = 760
	svgRow   = 26
	svgHead  = 40
	// svgMaxRows keeps the picture readable; the table below lists everything.
	svgMaxRows = 40
)

// SVG draws one line per workspace: a dot in its state's colour, its name and instance type, and
// a pill per condition of the table. Git hosts render it in the README as an image.
func SVG(rep *status.Report) []byte {
	rows := min(len(rep.Workspaces), svgMaxRows)
	extra := 0
	if len(rep.Workspaces) > rows {
		extra = 1
	}
	height := svgHead + (rows+extra)*svgRow + 10
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="-apple-system,Segoe UI,Helvetica,Arial,sans-serif" font-size="13">`+"\n", svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<title>%s</title>`+"\n", html.EscapeString(summary(rep)))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" rx="6" fill="#ffffff" stroke="#d0d7de"/>`+"\n", svgWidth, height)
	fmt.Fprintf(&b, `<text x="16" y="26" font-size="15" font-weight="600" fill="#1f2328">%s</text>`+"\n", html.EscapeString(summary(rep)))
	pills := []struct{ label, cond string }{{"RESOURCE", status.ResourceReady}, {"INFERENCE", status.InferenceReady}, {"WORKSPACE", status.WorkspaceReady}}
	for i, w := range rep.Workspaces[:rows] {
		y := svgHead + i*svgRow
		fmt.Fprintf(&b, `<circle cx="24" cy="%d" r="7" fill="%s"/>`+"\n", y+9, stateColour[w.State()])
		fmt.Fprintf(&b, `<text x="40" y="%d" fill="#1f2328">%s</text>`+"\n", y+14, html.EscapeString(clip(w.Key(), 42)))
		fmt.Fprintf(&b, `<text x="360" y="%d" fill="#59636e" font-size="12">%s</text>`+"\n", y+14, html.EscapeString(clip(w.InstanceType, 26)))
		for j, p := range pills {
			label, cond := p.label, p.cond
			if cond == status.InferenceReady && w.Mode == "tuning" {
				label, cond = "JOB", status.JobSucceeded
			}
			s := w.ConditionStatus(cond)
			x := 560 + j*66
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="62" height="18" rx="9" fill="%s"><title>%s: %s</title></rect>`+"\n", x, y, condColour[s], cond, html.EscapeString(string(s)))
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#ffffff" font-size="9" text-anchor="middle">%s</text>`+"\n", x+31, y+12, label)
		}
	}
	if extra > 0 {
		fmt.Fprintf(&b, `<text x="40" y="%d" fill="#59636e">… and %d more (see the table)</text>`+"\n", svgHead+rows*svgRow+14, len(rep.Workspaces)-rows)
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
