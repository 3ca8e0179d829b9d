package plan

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/render"
	"github.com/kaito-sync/kaito-sync/sync/apply"
)

// LiveObject is one head object compared with the live cluster by a server-side dry run.
type LiveObject struct {
	Kind      string           `json:"kind"`
	Namespace string           `json:"namespace,omitempty"`
	Name      string           `json:"name"`
	Action    apply.LiveAction `json:"action"`
	// Diff is a unified diff of the fields kaito-sync sets, live to head (after the API server's
	// defaulting); empty when in sync or on error.
	Diff   string `json:"diff,omitempty"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Ref is "Kind namespace/name".
func (o LiveObject) Ref() string {
	return Object{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}.Ref()
}

// LiveChecker dry-runs a workspace against a cluster; *apply.Manager is one.
type LiveChecker interface {
	DryRunDiff(ctx context.Context, ws apply.Workspace) []apply.LiveDiff
}

// LiveSummary counts live results by action.
type LiveSummary struct {
	Create, Drifted, InSync, Recreate, Errors int
}

// CheckLive compares the objects of every workspace that head would apply (added, changed and
// unchanged ones) with the live cluster, and records the results in Workspace.Live. Nothing is
// written to the cluster: the checker only dry-runs.
func (p *Plan) CheckLive(ctx context.Context, c LiveChecker) error {
	if p.head == nil {
		return fmt.Errorf("plan: CheckLive needs a plan made by Compute")
	}
	p.LiveChecked = true
	for _, w := range p.Workspaces {
		if w.Action == Removed || w.Action == Invalid {
			continue
		}
		res, err := p.headObjects(w.Key)
		if err != nil {
			w.Live = append(w.Live, LiveObject{Kind: "Workspace", Name: w.Key, Action: apply.LiveError, Error: err.Error()})
			continue
		}
		for _, d := range c.DryRunDiff(ctx, apply.Workspace{Key: w.Key, Objects: res.Objects}) {
			w.Live = append(w.Live, liveObject(d))
		}
	}
	return nil
}

// headObjects is a head workspace's render; workspaces Compute left unrendered (the same at
// base) are rendered now.
func (p *Plan) headObjects(key string) (*render.Result, error) {
	if r := p.head.rendered[key]; r != nil {
		return r, nil
	}
	if err := p.head.errs[key]; err != nil {
		return nil, err
	}
	ws := p.head.byKey[key]
	if ws == nil {
		return nil, fmt.Errorf("workspace %s is not at head", key)
	}
	res, err := p.renderer.Render(ws, p.head.companionsOf(ws), render.Source{Path: ws.Source.Path})
	if err != nil {
		return nil, err
	}
	p.head.rendered[key] = res
	return res, nil
}

func liveObject(d apply.LiveDiff) LiveObject {
	o := LiveObject{Kind: d.Object.Kind, Namespace: d.Object.Namespace, Name: d.Object.Name, Action: d.Action, Reason: d.Reason}
	if d.Err != nil {
		o.Error = d.Err.Error()
		return o
	}
	if d.Action != apply.LiveInSync {
		name := strings.ToLower(o.Kind) + "/" + o.Namespace + "/" + o.Name + ".yaml"
		o.Diff = UnifiedDiff("live/"+name, "head/"+name, liveYAML(d.Have), liveYAML(d.Want), 3)
	}
	return o
}

func liveYAML(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	return yamlOf(u)
}

// LiveSummary counts the live results of every workspace.
func (p *Plan) LiveSummary() LiveSummary {
	var s LiveSummary
	for _, w := range p.Workspaces {
		for _, o := range w.Live {
			switch o.Action {
			case apply.LiveCreate:
				s.Create++
			case apply.LiveDrifted:
				s.Drifted++
			case apply.LiveInSync:
				s.InSync++
			case apply.LiveRecreate:
				s.Recreate++
			case apply.LiveError:
				s.Errors++
			}
		}
	}
	return s
}

// LiveDiffers reports whether some live object differs from head (missing, drifted, recreated).
func (p *Plan) LiveDiffers() bool {
	s := p.LiveSummary()
	return s.Create+s.Drifted+s.Recreate > 0
}

// LiveErrors reports whether the API server (or an ownership check) refused a head object.
func (p *Plan) LiveErrors() bool { return p.LiveSummary().Errors > 0 }

// LiveLine is one line summing the live results.
func (p *Plan) LiveLine() string {
	s := p.LiveSummary()
	return fmt.Sprintf("live cluster (server-side dry run): %d to create, %d drifted, %d to recreate, %d in sync, %d errors",
		s.Create, s.Drifted, s.Recreate, s.InSync, s.Errors)
}

// liveRows are the workspaces with a live object that is not in sync.
func (p *Plan) liveRows() []*Workspace {
	var out []*Workspace
	for _, w := range p.Workspaces {
		if slices.ContainsFunc(w.Live, func(o LiveObject) bool { return o.Action != apply.LiveInSync }) {
			out = append(out, w)
		}
	}
	return out
}

func writeLiveText(w io.Writer, p *Plan) {
	if !p.LiveChecked {
		return
	}
	fmt.Fprintf(w, "\nLive cluster\n")
	for _, ws := range p.liveRows() {
		fmt.Fprintf(w, "  %s\n", ws.Key)
		for _, o := range ws.Live {
			if o.Action == apply.LiveInSync {
				continue
			}
			fmt.Fprintf(w, "    %s %s\n", o.Action, o.Ref())
			if o.Reason != "" {
				fmt.Fprintf(w, "      %s\n", o.Reason)
			}
			if o.Error != "" {
				fmt.Fprintf(w, "      %s\n", o.Error)
			}
			for line := range strings.Lines(o.Diff) {
				fmt.Fprintf(w, "      %s", line)
			}
		}
	}
	fmt.Fprintf(w, "%s\n", p.LiveLine())
}

func liveMarkdown(p *Plan) (head string, sections []string) {
	if !p.LiveChecked {
		return "", nil
	}
	head = "#### Live cluster\n\n" + p.LiveLine() + "\n\n"
	for _, ws := range p.liveRows() {
		var b strings.Builder
		fmt.Fprintf(&b, "<details><summary>live <code>%s</code></summary>\n\n", ws.Key)
		for _, o := range ws.Live {
			if o.Action == apply.LiveInSync {
				continue
			}
			fmt.Fprintf(&b, "**%s** `%s`\n\n", o.Action, o.Ref())
			if o.Reason != "" {
				fmt.Fprintf(&b, "%s\n\n", o.Reason)
			}
			if o.Error != "" {
				fmt.Fprintf(&b, "- ❌ `%s`\n\n", strings.ReplaceAll(o.Error, "`", "'"))
			}
			if o.Diff != "" {
				fence := "```"
				for strings.Contains(o.Diff, fence) {
					fence += "`"
				}
				fmt.Fprintf(&b, "%sdiff\n%s%s\n\n", fence, o.Diff, fence)
			}
		}
		b.WriteString("</details>\n\n")
		sections = append(sections, b.String())
	}
	return head, sections
}
