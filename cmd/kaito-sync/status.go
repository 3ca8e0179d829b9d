package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/status/branch"
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
		if !isGitURL(srcRepo) {
			log.Info("no status branch: --repo is a local folder; pass --status-repo URL to publish statuses")
			return nil, nil
		}
		repo = srcRepo
	}
	if !isGitURL(repo) {
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

func isGitURL(s string) bool { return strings.Contains(s, "://") || strings.Contains(s, "@") }

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
	auth                 source.AuthOptions
}

func newStatusCmd() *cobra.Command {
	var f statusCmdFlags
	cmd := &cobra.Command{
		Use:   "status --repo URL [NAME]",
		Short: "Show the workspaces' statuses from the status branch, like kubectl get workspace",
		Long: `Status reads the statuses kaito-sync publishes on the status branch and prints them as
kubectl get workspace would, for people who have Git access and no cluster access.
NAME is a workspace name or namespace/name.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			warnURLCredentials(cmd.ErrOrStderr(), f.repo)
			return runStatus(cmd.Context(), cmd.OutOrStdout(), f, name)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "Git URL of the repository holding the status branch")
	fl.StringVar(&f.branch, "status-branch", branch.DefaultBranch, "branch holding the statuses")
	fl.StringVarP(&f.output, "output", "o", "table", "table, json or yaml")
	fl.StringVar(&f.auth.Username, "git-username", "", "user for HTTPS Git (default \"git\" with a token)")
	fl.StringVar(&f.auth.PasswordFile, "git-password-file", "", "file holding the HTTPS password or token")
	fl.StringVar(&f.auth.TokenEnv, "git-token-env", "", "environment variable holding the HTTPS token")
	fl.StringVar(&f.auth.SSHKeyFile, "ssh-key-file", "", "private key for SSH Git URLs")
	fl.StringVar(&f.auth.KnownHostsFile, "ssh-known-hosts", "", "known_hosts file for SSH Git URLs")
	return cmd
}

func runStatus(ctx context.Context, out io.Writer, f statusCmdFlags, name string) error {
	if f.repo == "" {
		return usageErrorf("--repo is required")
	}
	switch f.output {
	case "table", "json", "yaml":
	default:
		return usageErrorf("unknown --output %q: use table, json or yaml", f.output)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	auth, err := f.auth.Auth(f.repo)
	if err != nil {
		return err
	}
	w := &branch.Writer{URL: f.repo, Branch: f.branch, Auth: auth}
	rep, err := w.Read(ctx)
	if err != nil {
		return err
	}
	if rep == nil {
		return fmt.Errorf("branch %s of %s holds no statuses: is kaito-sync sync running with a status branch?", f.branch, source.RedactURL(f.repo))
	}
	var one *status.WorkspaceStatus
	if name != "" {
		if one = findWorkspace(rep, name); one == nil {
			return &exitError{code: exitInvalid, err: fmt.Errorf("workspace %q not found on branch %s", name, f.branch)}
		}
		rep.Workspaces, rep.Problems = []*status.WorkspaceStatus{one}, nil
	}
	var v any = rep
	if one != nil {
		v = one
	}
	switch f.output {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	return printStatusTable(out, rep, time.Now())
}

// findWorkspace matches namespace/name, or a name alone when only one namespace has it.
func findWorkspace(rep *status.Report, name string) *status.WorkspaceStatus {
	if strings.Contains(name, "/") {
		return rep.Workspace(name)
	}
	var found *status.WorkspaceStatus
	for _, w := range rep.Workspaces {
		if w.Name == name {
			if found != nil {
				return nil // ambiguous: ask for namespace/name
			}
			found = w
		}
	}
	return found
}

// printStatusTable prints kubectl's columns, then what fails and why, with file:line.
func printStatusTable(out io.Writer, rep *status.Report, now time.Time) error {
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(status.Columns, "\t"))
	for _, w := range rep.Workspaces {
		fmt.Fprintln(tw, strings.Join(w.Row(now), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
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
	fmt.Fprintf(out, "source commit %s, updated %s ago\n", source.ShortCommit(rep.SourceCommit), status.Age(rep.UpdatedAt, now))
	return nil
}
