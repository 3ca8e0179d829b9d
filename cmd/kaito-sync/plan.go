package main

import (
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/spf13/cobra"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/plan"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

type planFlags struct {
	repo, base, head, path string
	output                 string
	allowSecrets           bool
	defaultNamespace       string
	maxChars               int
	auth                   source.AuthOptions
	live                   bool
	kubeconfig, syncRoot   string
	kubeContext            string
}

func newPlanCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan --repo PATH|URL --base REF --head REF",
		Short: "Show what a change to the workspaces in Git would do, for a pull-request review",
		Long: `Plan compares two revisions of a repository offline (no cluster, no cloud): it validates head, and
lists the workspaces added, changed, removed and unchanged, the changes Kaito refuses in place (they
recreate the workload), a unified diff of every rendered object, and the GPU nodes before and after.

--repo is a local repository (or a folder inside one) or a Git URL, cloned into memory. --base and
--head are any revisions: a branch, a tag, a commit hash, origin/x, HEAD~1.

-o markdown writes a pull-request comment (summary table first, details folded, cut to fit
--max-chars with a note); -o text is for terminals; -o json for tools.

--live also compares head with the cluster of --kubeconfig: every object head would apply is sent
as a forced server-side apply with dry run (validated and defaulted by the API server, never
persisted) and compared with the live object on the fields kaito-sync sets, so drift made by hand
and errors only the API server finds show up. Nothing in the cluster changes. --sync-root only sets
the ownership label of the dry run; existing objects are compared as the root they carry.

Exit status: 0 when nothing changes, 1 when something changes (or, with --live, the cluster differs
from head), 2 when head is invalid, the API server refuses an object, or the plan failed (and on
usage errors).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			warnCredentials(cmd.ErrOrStderr(), f.auth, f.repo)
			return runPlan(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "local repository or Git URL (https://, ssh://, git@host:, file://)")
	fl.StringVar(&f.base, "base", "", "revision the change starts from (the pull request's base)")
	fl.StringVar(&f.head, "head", "", "revision with the change (the pull request's head)")
	fl.StringVar(&f.path, "path", "", "folder inside the repository that holds the workspaces")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: markdown, text or json")
	fl.IntVar(&f.maxChars, "max-chars", plan.MaxMarkdown, "most characters of -o markdown (a GitHub comment holds 65536)")
	fl.BoolVar(&f.allowSecrets, "allow-secrets", false, "accept plain-text Secrets in the repository")
	fl.StringVar(&f.defaultNamespace, "default-namespace", "default", "namespace of workspaces that name none")
	addGitAuthFlags(fl, &f.auth)
	fl.BoolVar(&f.live, "live", false, "also dry-run head against the cluster of --kubeconfig and show drift (changes nothing)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file for --live (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	fl.StringVar(&f.kubeContext, "context", "", "kubeconfig context for --live (default: its current context)")
	fl.StringVar(&f.syncRoot, "sync-root", "", "sync root label for --live (default: the one kaito-sync sync uses for --repo, branch main and --path)")
	completeValues(cmd, "output", "markdown", "text", "json")
	return cmd
}

func runPlan(ctx context.Context, out io.Writer, f planFlags) error {
	switch {
	case f.repo == "":
		return usageErrorf("--repo is required")
	case f.base == "" || f.head == "":
		return usageErrorf("--base and --head are required")
	case f.output != "markdown" && f.output != "text" && f.output != "json":
		return usageErrorf("unknown output format %q: use markdown, text or json", f.output)
	}
	if err := checkInputFlags(f.path, f.defaultNamespace); err != nil {
		return err
	}
	fail := func(err error) error { return &exitError{code: exitUsage, err: err} }
	src, err := resolveRepo(f.repo)
	if err != nil {
		return err
	}
	var manager *apply.Manager
	if f.live {
		cfg, err := clusterAccess{kubeconfig: f.kubeconfig, context: f.kubeContext}.config()
		if err != nil {
			return usageErrorf("--live: %v", err)
		}
		root := f.syncRoot
		if root == "" {
			root = apply.RootID(src.ID(), "main", f.path)
		}
		manager, err = apply.New(cfg, apply.Options{Root: root, DryRun: true})
		if err != nil {
			return fail(err)
		}
	}
	var auth transport.AuthMethod
	if src.Kind == source.RepoURL {
		if auth, err = f.auth.Auth(f.repo); err != nil {
			return fail(err)
		}
	}
	repo, err := src.Open(ctx, auth)
	if err != nil {
		return fail(err)
	}
	// --path is relative to the folder --repo names, as for sync.
	base, err := source.Revision(repo, f.base, src.Path(f.path))
	if err != nil {
		return fail(err)
	}
	head, err := source.Revision(repo, f.head, src.Path(f.path))
	if err != nil {
		return fail(err)
	}
	if src.Kind == source.RepoWorkTree && f.output == "text" {
		// What sync --repo would read is not what this plan compares: say so.
		if snap, err := (source.Local{Dir: src.Dir, Path: f.path}).Fetch(ctx); err == nil && snap.Dirty {
			fmt.Fprintf(out, "note: the working tree has uncommitted changes under %s; plan compares commits, so they are not in this plan\n", cmp.Or(src.Path(f.path), "."))
		}
	}
	p, err := plan.Compute(base, head, presets.Default(), plan.Options{
		Load: workspaces.Options{AllowSecrets: f.allowSecrets, DefaultNamespace: f.defaultNamespace},
	})
	if err != nil {
		return fail(err)
	}
	if manager != nil {
		if err := p.CheckLive(ctx, manager); err != nil {
			return fail(err)
		}
	}
	switch f.output {
	case "json":
		err = plan.WriteJSON(out, p)
	case "markdown":
		err = plan.WriteMarkdown(out, p, plan.MarkdownOptions{MaxChars: f.maxChars})
	default:
		err = plan.WriteText(out, p)
	}
	if err != nil {
		return fail(err)
	}
	switch {
	case !p.Valid(), p.LiveErrors():
		return &exitError{code: exitUsage, err: errSilent}
	case p.HasChanges(), p.LiveDiffers():
		return &exitError{code: exitInvalid, err: errSilent}
	}
	return nil
}
