package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// MaxMarkdown is the most characters a GitHub pull-request comment holds.
const MaxMarkdown = 65536

// WriteJSON writes the plan as indented JSON.
func WriteJSON(w io.Writer, p *Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// SummaryLine is one line saying what the plan does.
func (p *Plan) SummaryLine() string {
	s := p.Summary
	line := fmt.Sprintf("%d to add, %d to change, %d to remove, %d unchanged", s.Added, s.Changed, s.Removed, s.Unchanged)
	if s.Recreate > 0 {
		line += fmt.Sprintf(" (%d recreated)", s.Recreate)
	}
	if s.Invalid > 0 {
		line += fmt.Sprintf(", %d invalid", s.Invalid)
	}
	return line
}

// GPULine sums the GPU nodes before and after.
func (p *Plan) GPULine() string {
	g := p.GPU
	line := fmt.Sprintf("GPU nodes %d → %d, GPUs %d → %d, GPU memory %s → %s GiB",
		g.NodesBefore, g.NodesAfter, g.GPUsBefore, g.GPUsAfter, num(g.MemoryGiBBefore), num(g.MemoryGiBAfter))
	if g.PoolsCreate+g.PoolsScale+g.PoolsDelete > 0 {
		line += fmt.Sprintf("; node pools: %d to create, %d to scale, %d to delete", g.PoolsCreate, g.PoolsScale, g.PoolsDelete)
	}
	return line
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// String describes nodes as "2 × Standard_NC12s_v3 (2 × V100, 32 GiB)"; "-" for none.
func (n *Nodes) String() string {
	if n == nil {
		return "-"
	}
	sku := n.InstanceType
	if sku == "" {
		sku = "your own nodes"
	}
	s := fmt.Sprintf("%d × %s", n.Count, sku)
	var gpu []string
	if n.GPUsPerNode > 0 {
		g := fmt.Sprintf("%d GPU", n.GPUsPerNode)
		if n.GPUModel != "" {
			g = fmt.Sprintf("%d × %s", n.GPUsPerNode, n.GPUModel)
		}
		gpu = append(gpu, g)
	}
	if n.GPUMemoryGiB > 0 {
		gpu = append(gpu, num(n.GPUMemoryGiB)+" GiB")
	}
	if len(gpu) > 0 {
		s += " (" + strings.Join(gpu, ", ") + " per node)"
	}
	return s
}

// String is the node delta of a workspace in one phrase.
func (d NodeDelta) String() string {
	if !d.Changed() {
		return d.After.String()
	}
	s := fmt.Sprintf("%s → %s, GPUs %d → %d", d.Before.String(), d.After.String(), d.Before.GPUs(), d.After.GPUs())
	if d.Pool != PoolNone {
		s += "; node pool: " + string(d.Pool)
	}
	return s
}

// changeText is "forces recreate: resource.instanceType A → B" or "inference.adapters: A → B".
func changeText(c workspaces.Change) string {
	s := fmt.Sprintf("%s %s → %s", c.Field, orNone(c.Old), orNone(c.New))
	if c.Immutable {
		return "forces recreate: " + s
	}
	return s
}

// baseInvalidText introduces base's errors of a workspace that was invalid at base.
const baseInvalidText = "invalid at base (nothing of it was applied: what runs is unknown, so no recreate is claimed):"

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func sideText(s Side) string {
	c := gitbranch.ShortCommit(s.Commit)
	if c == "" {
		c = "(working tree)"
	}
	if s.Path != "" {
		c += " (" + s.Path + ")"
	}
	return c
}

// WriteText writes the plan for a terminal: problems, one line per workspace that changes, its
// spec changes and node delta, then the object diffs.
func WriteText(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plan %s → %s\n", sideText(p.Base), sideText(p.Head))
	for _, pr := range p.Problems {
		b.WriteString(pr.String())
		b.WriteByte('\n')
	}
	for _, ws := range p.Workspaces {
		if ws.Action == Unchanged {
			continue
		}
		act := string(ws.Action)
		if ws.Action == Removed && p.PruneRefused != "" {
			act += " (prune refused)"
		}
		fmt.Fprintf(&b, "\n%s %s (%s)\n", act, ws.Key, ws.Path)
		writeDetailsText(&b, ws)
	}
	fmt.Fprintf(&b, "\n%s\n%s\n", p.SummaryLine(), p.GPULine())
	if p.PruneRefused != "" {
		fmt.Fprintf(&b, "prune refused: the sync would delete none of the removed workspaces: %s\n", p.PruneRefused)
	}
	writeLiveText(&b, p)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeDetailsText(b *strings.Builder, ws *Workspace) {
	for _, pr := range ws.Problems {
		fmt.Fprintf(b, "  %s\n", pr.String())
	}
	if ws.RenderError != "" {
		fmt.Fprintf(b, "  %s\n", ws.RenderError)
	}
	for _, pr := range ws.BaseProblems {
		fmt.Fprintf(b, "  %s %s\n", baseInvalidText, pr.String())
	}
	for _, c := range ws.Changes {
		fmt.Fprintf(b, "  %s\n", changeText(c))
	}
	if ws.Nodes.Changed() {
		fmt.Fprintf(b, "  nodes: %s\n", ws.Nodes)
	}
	for _, o := range ws.Objects {
		fmt.Fprintf(b, "  %s %s\n", o.Action, o.Ref())
		for line := range strings.Lines(o.Diff) {
			b.WriteString("    ")
			b.WriteString(line)
		}
	}
}
