package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/internal/ctxwait"
	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/status/branch"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
	"github.com/kaito-sync/kaito-sync/sync/source"
)

// statusFlags are the sync command's flags for the status branch.
type statusFlags struct {
	enabled bool
	branch  string
	repo    string
	// root is the sync root of --target cluster, set by the sync command: the reporter then
	// watches this root's objects only, not every kaito-sync instance's in the cluster.
	root string
}

// addStatusFlags registers --status, --status-branch and --status-repo on the sync command.
func addStatusFlags(fs *pflag.FlagSet) *statusFlags {
	f := &statusFlags{}
	fs.BoolVar(&f.enabled, "status", true, "publish workspace statuses on a Git branch (a dashboard README, one file per workspace, status.json)")
	fs.StringVar(&f.branch, "status-branch", branch.DefaultBranch, "branch for the statuses")
	fs.StringVar(&f.repo, "status-repo", "", "Git URL for the status branch (default: --repo); needed when --repo is a local folder")
	return f
}

// reporter builds the status reporter (the caller runs it), or returns nil when there is nowhere
// to publish (--status=false, or a local folder with no --status-repo). cfg is the cluster to
// watch; nil in hydrate mode. srcRepo and srcBranch are the sync's --repo and --branch. onPublish
// sees every report computed.
func (f *statusFlags) reporter(srcRepo, srcBranch string, auth source.AuthOptions, cfg *rest.Config, log *slog.Logger,
	onPublish func(*status.Report, bool, error)) (*status.Reporter, error) {
	if f == nil || !f.enabled {
		return nil, nil
	}
	repo := f.repo
	if repo == "" {
		if !source.IsURL(srcRepo) {
			log.Info("no status branch: --repo is a local folder; pass --status-repo URL to publish statuses")
			return nil, nil
		}
		repo = srcRepo
	}
	if !source.IsURL(repo) {
		return nil, usageErrorf("--status-repo %s: not a Git URL", repo)
	}
	if repo == srcRepo && f.branch == srcBranch {
		return nil, usageErrorf("--status-branch %s is the branch being synced; statuses need a branch of their own", f.branch)
	}
	a, err := auth.Auth(repo)
	if err != nil {
		return nil, err
	}
	w := &branch.Writer{URL: repo, Branch: f.branch, Auth: a}
	if err := w.Validate(); err != nil {
		return nil, usageErrorf("--status-branch: %v", err)
	}
	if repo != srcRepo {
		// Relative links only work inside the source repository; point at its host instead.
		w.Link = hostLink(srcRepo)
	}
	return status.NewReporter(status.ReporterOptions{Writer: w, Config: cfg, Root: f.root, Logger: log, OnPublish: onPublish}), nil
}

// repoURL is --status-repo, "" when not set (or f is nil).
func (f *statusFlags) repoURL() string {
	if f == nil {
		return ""
	}
	return f.repo
}

// hostLink links to files on the web page of a repository given by its Git URL (https or
// scp-like SSH): GitLab's /-/blob/, everyone else's /blob/. nil when the URL says no host.
func hostLink(repo string) branch.LinkFunc {
	web := repo
	if at := strings.Index(web, "@"); !strings.Contains(web, "://") && at >= 0 {
		web = "https://" + strings.Replace(web[at+1:], ":", "/", 1) // git@host:org/repo.git
	}
	u, err := url.Parse(web)
	if err != nil || u.Host == "" {
		return nil
	}
	// No credentials in a link: neither user information nor a query (?private_token=…).
	u.User, u.Scheme, u.RawQuery, u.ForceQuery, u.Fragment = nil, "https", "", false, ""
	u.Host = u.Hostname()
	base := strings.TrimSuffix(strings.TrimSuffix(u.String(), "/"), ".git")
	blob := "/blob/"
	if strings.Contains(u.Host, "gitlab") {
		blob = "/-/blob/"
	}
	return func(path string, line int, commit string) string {
		if commit == "" {
			return ""
		}
		l := base + blob + commit + "/" + path
		if line > 0 {
			l += fmt.Sprintf("#L%d", line)
		}
		return l
	}
}

type statusCmdFlags struct {
	repo, branch, output string
	namespace            string
	allNamespaces        bool
	noHeaders            bool
	watch                bool
	interval             time.Duration
	auth                 source.AuthOptions
	// now tells AGE's time and wait returns when the next read of a watch is due (or ctx is
	// done): time.Now and a timer of interval, unless a test steps through a watch itself.
	now  func() time.Time
	wait func(ctx context.Context) error
}

// statusOutputs are the status command's -o values.
var statusOutputs = []string{"table", "wide", "json", "yaml"}

func newStatusCmd() *cobra.Command { return newStatusCmdWith(&statusCmdFlags{}) }

// newStatusCmdWith is newStatusCmd writing its flags into f, whose now and wait a test may set.
func newStatusCmdWith(f *statusCmdFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status --repo URL [NAME]",
		Short: "Show the workspaces' statuses from the status branch, like kubectl get workspace",
		Long: `Status reads the statuses kaito-sync publishes on the status branch and prints them as
kubectl get workspace would (Kaito ` + presets.KaitoVersion + `'s columns), for people who have Git access
and no cluster access. NAME is a workspace name or namespace/name.

A status branch holds every namespace of the sync, so all namespaces are shown unless -n
names one (-A says so explicitly; it cannot be given with -n). With -n the NAMESPACE column
is left out, as kubectl does.

-o wide adds the mode, preset, nodes, endpoint, the reason it is not ready and the file;
-o json and -o yaml print the statuses kaito-sync wrote. --no-headers prints the rows alone.
-w re-reads the branch every --interval and prints the workspaces that changed (a removed
workspace prints its last row once more, as kubectl does) until interrupted.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			warnCredentials(cmd.ErrOrStderr(), f.auth, f.repo)
			ctx := cmd.Context()
			if f.watch {
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
			}
			return runStatus(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), *f, name)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "Git URL of the repository holding the status branch")
	fl.StringVar(&f.branch, "status-branch", branch.DefaultBranch, "branch holding the statuses")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: "+strings.Join(statusOutputs, ", "))
	fl.StringVarP(&f.namespace, "namespace", "n", "", "show this namespace only (default: all namespaces)")
	fl.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "show every namespace (the default)")
	fl.BoolVar(&f.noHeaders, "no-headers", false, "print no header line and no summary below the table")
	fl.BoolVarP(&f.watch, "watch", "w", false, "after the statuses, print the workspaces that change until interrupted")
	fl.DurationVar(&f.interval, "interval", 10*time.Second, "how often --watch reads the status branch")
	addGitAuthFlags(fl, &f.auth)
	completeValues(cmd, "output", statusOutputs...)
	return cmd
}

func runStatus(ctx context.Context, out, errOut io.Writer, f statusCmdFlags, name string) error {
	if f.repo == "" {
		return usageErrorf("--repo is required")
	}
	if !slices.Contains(statusOutputs, f.output) {
		return usageErrorf("unknown --output %q: use %s", f.output, strings.Join(statusOutputs, ", "))
	}
	if f.allNamespaces && f.namespace != "" {
		return usageErrorf("-A shows every namespace and -n %s one: give one of them", f.namespace)
	}
	if f.watch && f.interval <= 0 {
		return usageErrorf("--interval must be positive, got %s", f.interval)
	}
	if ns, _, ok := strings.Cut(name, "/"); ok && f.namespace != "" && ns != f.namespace {
		return usageErrorf("workspace %s is not in namespace %s (-n)", name, f.namespace)
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.wait == nil {
		f.wait = func(ctx context.Context) error { return ctxwait.Sleep(ctx, f.interval) }
	}
	read := func(ctx context.Context) (*status.Report, error) {
		rep, err := readStatus(ctx, f)
		if err == nil && rep == nil {
			err = fmt.Errorf("branch %s of %s holds no statuses: is kaito-sync sync running with a status branch?", f.branch, gitbranch.RedactURL(f.repo))
		}
		return rep, err
	}
	rep, err := read(ctx)
	if err != nil {
		return err
	}
	sel := selection{namespace: f.namespace, name: name}
	shown, err := sel.pick(rep)
	if err != nil {
		return err
	}
	p := &statusPrinter{out: out, format: f.output, namespaces: f.namespace == "", noHeaders: f.noHeaders, now: f.now}
	if f.watch {
		if err := p.print(shown); err != nil {
			return err
		}
		wt := &statusWatch{read: read, pick: sel.keep, wait: f.wait, print: p.print, errOut: errOut}
		return wt.run(ctx, shown)
	}
	switch {
	case f.output == "json" || f.output == "yaml":
		var v any = sel.report(rep, shown)
		if name != "" {
			v = shown[0]
		}
		return p.encode(v)
	case len(shown) == 0:
		where := ""
		if f.namespace != "" {
			where = " in namespace " + f.namespace
		}
		fmt.Fprintf(errOut, "No workspaces found%s.\n", where)
		return nil
	}
	if err := p.print(shown); err != nil {
		return err
	}
	if f.noHeaders {
		return nil
	}
	return printStatusSummary(out, sel.report(rep, shown), f.now())
}

// readStatus reads the status branch of --repo: a URL's is fetched; a local repository's (a work
// tree, a folder inside one, a bare repository) is read in place, its own branch or origin's.
func readStatus(ctx context.Context, f statusCmdFlags) (*status.Report, error) {
	src, err := resolveRepo(f.repo)
	if err != nil {
		return nil, err
	}
	if src.Kind == source.RepoURL {
		auth, err := f.auth.Auth(f.repo)
		if err != nil {
			return nil, err
		}
		return (&branch.Writer{URL: f.repo, Branch: f.branch, Auth: auth}).Read(ctx)
	}
	repo, err := src.Open(ctx, nil)
	if err != nil {
		return nil, usageErrorf("--repo %v: statuses are read from a repository's --status-branch", err)
	}
	c, err := source.BranchCommit(repo, f.branch)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: is kaito-sync sync publishing statuses there (--status-branch)?", src.Kind, f.repo, err)
	}
	return branch.ReadCommit(c)
}

// selection is what the status command was asked to show: a namespace ("" for all) and a
// workspace name ("" for all), the name alone or namespace/name.
type selection struct{ namespace, name string }

// keep returns the workspaces selected, in the report's order.
func (s selection) keep(rep *status.Report) []*status.WorkspaceStatus {
	var out []*status.WorkspaceStatus
	ns, name, qualified := strings.Cut(s.name, "/")
	if !qualified {
		ns, name = s.namespace, s.name
	}
	for _, w := range rep.Workspaces {
		if (ns == "" || w.Namespace == ns) && (name == "" || w.Name == name) {
			out = append(out, w)
		}
	}
	return out
}

// pick is keep, failing when a named workspace is not there or the name alone is in several
// namespaces.
func (s selection) pick(rep *status.Report) ([]*status.WorkspaceStatus, error) {
	shown := s.keep(rep)
	if s.name == "" {
		return shown, nil
	}
	switch len(shown) {
	case 0:
		where := ""
		if s.namespace != "" {
			where = " in namespace " + s.namespace
		}
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("workspace %q not found%s on the status branch", s.name, where)}
	case 1:
		return shown, nil
	}
	var nss []string
	for _, w := range shown {
		nss = append(nss, w.Namespace)
	}
	return nil, usageErrorf("workspace %q is in namespaces %s: name one with -n or namespace/name", s.name, strings.Join(nss, ", "))
}

// report is rep with only the workspaces shown and the problems that may concern them: those of
// their namespace, and those of no known workspace.
func (s selection) report(rep *status.Report, shown []*status.WorkspaceStatus) *status.Report {
	if s.namespace == "" && s.name == "" {
		return rep
	}
	out := *rep
	out.Workspaces = shown
	out.Problems = nil
	if s.name != "" {
		return &out
	}
	for _, p := range rep.Problems {
		if p.Workspace == "" || strings.HasPrefix(p.Workspace, s.namespace+"/") {
			out.Problems = append(out.Problems, p)
		}
	}
	return &out
}

// statusPrinter prints workspaces as kubectl get does: a table (once its header), or one JSON or
// YAML document per workspace.
type statusPrinter struct {
	out        io.Writer
	format     string // table, wide, json or yaml
	namespaces bool   // a NAMESPACE column first
	noHeaders  bool
	now        func() time.Time

	widths  []int // of the columns so far, so rows printed later line up with the first ones
	printed bool  // the header, or a document
}

func (p *statusPrinter) print(ws []*status.WorkspaceStatus) error {
	if p.format == "json" || p.format == "yaml" {
		for _, w := range ws {
			if err := p.encode(w); err != nil {
				return err
			}
		}
		return nil
	}
	wide := p.format == "wide"
	var rows [][]string
	if !p.printed && !p.noHeaders {
		rows = append(rows, status.PrinterColumns)
		if wide {
			rows[0] = append(slices.Clone(status.PrinterColumns), status.WideColumns...)
		}
		if p.namespaces {
			rows[0] = append([]string{"NAMESPACE"}, rows[0]...)
		}
	}
	p.printed = true
	now := p.now()
	for _, w := range ws {
		row := w.PrinterRow(now, wide)
		if p.namespaces {
			row = append([]string{w.Namespace}, row...)
		}
		rows = append(rows, row)
	}
	return p.table(rows)
}

// table writes rows with columns three spaces apart, as the tabwriter of kubectl does.
func (p *statusPrinter) table(rows [][]string) error {
	for _, row := range rows {
		for i, cell := range row {
			if i == len(p.widths) {
				p.widths = append(p.widths, 0)
			}
			p.widths[i] = max(p.widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", p.widths[i]-utf8.RuneCountInString(cell)+3))
			}
		}
		line := strings.TrimRight(b.String(), " ")
		b.Reset()
		if _, err := fmt.Fprintln(p.out, line); err != nil {
			return err
		}
	}
	return nil
}

// encode writes v as indented JSON, or as a YAML document ("---" between documents).
func (p *statusPrinter) encode(v any) error {
	if p.format == "json" {
		enc := json.NewEncoder(p.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	if p.printed {
		b = append([]byte("---\n"), b...)
	}
	p.printed = true
	_, err = p.out.Write(b)
	return err
}

// printStatusSummary follows the table: what fails and why, with file:line, and how recent the
// statuses are.
func printStatusSummary(out io.Writer, rep *status.Report, now time.Time) error {
	for _, w := range rep.Workspaces {
		if w.State() != status.StateFailing {
			continue
		}
		if c := w.Condition(status.WorkspaceReady); c != nil && c.Status == status.False {
			fmt.Fprintf(out, "%s: %s: %s\n", w.Key(), c.Reason, c.Message)
		}
		if w.Stale != "" {
			fmt.Fprintf(out, "%s: not updated: %s\n", w.Key(), w.Stale)
		}
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(out, p.String())
	}
	if rep.PruneBlocked != "" {
		fmt.Fprintf(out, "prune refused: %s\n", rep.PruneBlocked)
	}
	_, err := fmt.Fprintf(out, "source commit %s, updated %s ago\n", gitbranch.ShortCommit(rep.SourceCommit), status.Age(rep.UpdatedAt, now))
	return err
}

// statusWatch re-reads the statuses each time wait returns and prints the workspaces that
// changed, until wait fails (ctx done: an interrupt). A read that fails is reported and retried
// at the next turn: a watch outlives a flaky network.
type statusWatch struct {
	read   func(context.Context) (*status.Report, error)
	pick   func(*status.Report) []*status.WorkspaceStatus
	wait   func(context.Context) error
	print  func([]*status.WorkspaceStatus) error
	errOut io.Writer
}

func (sw *statusWatch) run(ctx context.Context, shown []*status.WorkspaceStatus) error {
	type seen struct {
		ws   *status.WorkspaceStatus
		json []byte
	}
	last := map[string]seen{}
	remember := func(w *status.WorkspaceStatus) (changed bool) {
		b, _ := json.Marshal(w)
		prev, ok := last[w.Key()]
		last[w.Key()] = seen{w, b}
		return !ok || !bytes.Equal(prev.json, b)
	}
	for _, w := range shown {
		remember(w)
	}
	for {
		if err := sw.wait(ctx); err != nil {
			if ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		rep, err := sw.read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(sw.errOut, "error: %v (reading again)\n", err)
			continue
		}
		var changed []*status.WorkspaceStatus
		now := map[string]bool{}
		for _, w := range sw.pick(rep) {
			now[w.Key()] = true
			if remember(w) {
				changed = append(changed, w)
			}
		}
		var gone []string
		for k := range last {
			if !now[k] {
				gone = append(gone, k)
			}
		}
		slices.Sort(gone)
		for _, k := range gone {
			changed = append(changed, last[k].ws)
			delete(last, k)
		}
		if len(changed) > 0 {
			if err := sw.print(changed); err != nil {
				return err
			}
		}
	}
}
