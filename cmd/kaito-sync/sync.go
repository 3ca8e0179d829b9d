package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/status"
	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/sync/trigger"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

type syncFlags struct {
	repo, branch, path string
	once, dryRun       bool
	interval           time.Duration
	kubeconfig         string
	target, out        string
	hydrateBranch      string
	allowMassPrune     bool
	allowSecrets       bool
	namespaces         []string
	defaultNamespace   string
	auth               source.AuthOptions
	verbose            bool
	webhookAddr        string
	webhookSecretFile  string
	watch              bool
	provision          *provisionFlags
	status             *statusFlags
}

func newSyncCmd() *cobra.Command {
	var f syncFlags
	cmd := &cobra.Command{
		Use:   "sync --repo URL|PATH",
		Short: "Make a cluster (or a branch or folder of rendered manifests) match the workspaces in Git",
		Long: `Sync reads workspaces from a Git repository or a local folder, validates and renders them, and makes
the target hold them, pruning only what it owns and Git no longer declares.

Targets:
  cluster  server-side apply to the cluster of --kubeconfig (the default when a kubeconfig is found)
  git      hydrate mode: commit rendered manifests to --hydrate-branch of --repo, for Flux or Argo CD
  dir      hydrate mode: write rendered manifests to the folder --out

With --once it syncs and exits: 0 when everything synced, 1 when anything failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSync(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "Git URL (https://, ssh://, git@host:, file://) or local folder")
	fl.StringVar(&f.branch, "branch", "main", "branch to sync")
	fl.StringVar(&f.path, "path", "", "folder inside the repository that holds the workspaces")
	fl.BoolVar(&f.once, "once", false, "sync once and exit")
	fl.DurationVar(&f.interval, "interval", time.Minute, "poll interval (with up to 10% jitter)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	fl.StringVar(&f.target, "target", "", "cluster, git or dir (default: cluster when a kubeconfig is found, else git)")
	fl.StringVar(&f.out, "out", "", "folder for --target dir")
	fl.StringVar(&f.hydrateBranch, "hydrate-branch", "kaito-sync/rendered", "branch for --target git")
	fl.BoolVar(&f.dryRun, "dry-run", false, "report what would change; change nothing (server-side dry run)")
	fl.BoolVar(&f.allowMassPrune, "allow-mass-prune", false, "allow one sync to remove more than half of the workspaces")
	fl.BoolVar(&f.allowSecrets, "allow-secrets", false, "accept plain-text Secrets in the repository")
	fl.StringSliceVar(&f.namespaces, "namespaces", nil, "the only namespaces objects may be applied to (default: all but kube-system, kube-public, kube-node-lease)")
	fl.StringVar(&f.defaultNamespace, "default-namespace", "default", "namespace of workspaces that name none")
	fl.StringVar(&f.auth.Username, "git-username", "", "user for HTTPS Git (default \"git\" with a token)")
	fl.StringVar(&f.auth.PasswordFile, "git-password-file", "", "file holding the HTTPS password or token")
	fl.StringVar(&f.auth.TokenEnv, "git-token-env", "", "environment variable holding the HTTPS token")
	fl.StringVar(&f.auth.SSHKeyFile, "ssh-key-file", "", "private key for SSH Git URLs")
	fl.StringVar(&f.auth.KnownHostsFile, "ssh-known-hosts", "", "known_hosts file for SSH Git URLs")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log unchanged objects and debug details")
	fl.StringVar(&f.webhookAddr, "webhook-addr", "", "listen address for push webhooks (POST /hook), e.g. :9292")
	fl.StringVar(&f.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook secret (GitHub HMAC, GitLab token or bearer token)")
	fl.BoolVar(&f.watch, "watch", true, "with a local folder in --repo, sync when its files change (fsnotify)")
	f.provision = addProvisionFlags(fl)
	f.status = addStatusFlags(fl)
	return cmd
}

func runSync(ctx context.Context, out, errOut io.Writer, f syncFlags) error {
	if f.repo == "" {
		return usageErrorf("--repo is required")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))

	src, repoID, err := buildSource(f)
	if err != nil {
		return err
	}
	cfg, cfgErr := kubeConfig(f.kubeconfig)
	if f.target == "" {
		f.target = "git"
		if cfgErr == nil {
			f.target = "cluster"
		}
	}
	var target ksync.Target
	var manager *apply.Manager
	switch f.target {
	case "cluster":
		if cfgErr != nil {
			return usageErrorf("--target cluster: %v", cfgErr)
		}
		root := apply.RootID(repoID, f.branch, f.path)
		f.provision.root = root
		manager, err = apply.New(cfg, apply.Options{Root: root, Namespaces: f.namespaces, DryRun: f.dryRun})
		if err != nil {
			return err
		}
		if err := manager.Start(ctx); err != nil {
			return err
		}
		target = ksync.Cluster{M: manager}
	case "dir":
		if f.out == "" {
			return usageErrorf("--target dir needs --out DIR")
		}
		if target, err = ksync.NewFolder(f.out); err != nil {
			return err
		}
	case "git":
		if _, isLocal := src.(source.Local); isLocal {
			return usageErrorf("--target git needs a Git URL in --repo (file:// for a local repository); use --target dir --out DIR for a folder")
		}
		auth, err := f.auth.Auth(f.repo)
		if err != nil {
			return err
		}
		target = &ksync.GitBranch{URL: f.repo, Branch: f.hydrateBranch, Auth: auth}
	default:
		return usageErrorf("unknown --target %q: use cluster, git or dir", f.target)
	}

	var prov provision.Provisioner
	if f.provision != nil && f.provision.provisioner != "" && f.provision.provisioner != "none" {
		if f.target != "cluster" {
			return usageErrorf("--provisioner %s needs --target cluster", f.provision.provisioner)
		}
		kube, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		if prov, err = f.provision.build(ctx, kube, log); err != nil {
			return err
		}
	}
	// The status branch: computed from the cluster when there is one, from the sync alone in
	// hydrate mode. A dry run publishes nothing.
	var statusCfg *rest.Config
	if f.target == "cluster" {
		statusCfg = cfg
	}
	if f.dryRun {
		f.status = nil
	}
	if f.status != nil && f.target == "git" && f.status.branch == f.hydrateBranch {
		return usageErrorf("--status-branch and --hydrate-branch must differ")
	}
	var rep *status.Reporter
	if f.target != "dir" || (f.status != nil && f.status.repo != "") { // a folder target gets its statuses beside the manifests
		if rep, err = f.status.reporter(ctx, f.repo, f.branch, f.auth, statusCfg, log); err != nil {
			return err
		}
	}
	var folder *folderStatus
	if f.target == "dir" && f.status != nil && f.status.enabled {
		folder = &folderStatus{dir: f.out}
	}
	publish := func(res *ksync.Result) {
		rep.Observe(res)
		if err := folder.write(res); err != nil {
			log.Error("status folder", "err", err)
		}
	}
	r := ksync.NewReconciler(src, target, presets.Default(), ksync.Options{
		Load:           workspaces.Options{AllowSecrets: f.allowSecrets, DefaultNamespace: f.defaultNamespace},
		AllowMassPrune: f.allowMassPrune,
		Logger:         log,
		Provisioner:    prov,
	})
	if f.once {
		res, err := r.SyncOnce(ctx)
		printResult(out, res, err, f.verbose)
		publish(res)
		if ferr := rep.Flush(ctx); ferr != nil {
			fmt.Fprintf(errOut, "status branch: %v\n", ferr)
		}
		if err != nil || res.Failed() {
			return &exitError{code: exitInvalid, err: errSilent}
		}
		return nil
	}
	if manager != nil {
		go ksync.RepairDrift(ctx, manager, log)
	}
	ins := []<-chan trigger.Trigger{trigger.Poll(ctx, f.interval, 0.1)}
	if local, ok := src.(source.Local); ok && f.watch {
		w, err := trigger.Watch(ctx, filepath.Join(local.Dir, f.path), 200*time.Millisecond, log)
		if err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		ins = append(ins, w)
	}
	if f.webhookAddr != "" {
		hook, err := startWebhook(ctx, f, log)
		if err != nil {
			return err
		}
		ins = append(ins, hook)
	}
	triggers := trigger.Merge(ctx, ins...)
	r.Run(ctx, triggers, func(res *ksync.Result, err error) {
		printResult(out, res, err, f.verbose)
		publish(res)
	})
	return nil
}

// startWebhook serves POST /hook until ctx ends.
func startWebhook(ctx context.Context, f syncFlags, log *slog.Logger) (<-chan trigger.Trigger, error) {
	if f.webhookSecretFile == "" {
		return nil, usageErrorf("--webhook-addr needs --webhook-secret-file: an open webhook lets anyone trigger syncs")
	}
	secret, err := os.ReadFile(f.webhookSecretFile)
	if err != nil {
		return nil, err
	}
	hook := trigger.NewWebhook([]byte(strings.TrimSpace(string(secret))), f.branch, log)
	mux := http.NewServeMux()
	mux.Handle("/hook", hook)
	ln, err := net.Listen("tcp", f.webhookAddr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("webhook server stopped", "err", err)
		}
	}()
	log.Info("webhook listening", "addr", ln.Addr().String(), "path", "/hook")
	return hook.C, nil
}

func buildSource(f syncFlags) (source.Source, string, error) {
	if info, err := os.Stat(f.repo); err == nil && info.IsDir() {
		abs, err := filepath.Abs(f.repo)
		if err != nil {
			return nil, "", err
		}
		return source.Local{Dir: abs, Path: f.path}, abs, nil
	}
	if !strings.Contains(f.repo, "://") && !strings.Contains(f.repo, "@") {
		return nil, "", usageErrorf("--repo %s: no such folder, and not a Git URL", f.repo)
	}
	auth, err := f.auth.Auth(f.repo)
	if err != nil {
		return nil, "", err
	}
	return source.NewGit(source.GitOptions{URL: f.repo, Branch: f.branch, Path: f.path, Auth: auth}), source.RedactURL(f.repo), nil
}

// kubeConfig finds cluster access the way kubectl does, then in-cluster.
func kubeConfig(path string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err == nil {
		return cfg, nil
	}
	if path == "" {
		if in, inErr := rest.InClusterConfig(); inErr == nil {
			return in, nil
		}
	}
	return nil, fmt.Errorf("no cluster access: %w", err)
}

// printResult writes a changeset per workspace, like a plan applied: one line per object that
// changed (every object with -v), then problems and a summary.
func printResult(out io.Writer, res *ksync.Result, err error, verbose bool) {
	if res == nil {
		res = &ksync.Result{}
	}
	commit := source.ShortCommit(res.Commit)
	if commit == "" {
		commit = "working tree"
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(out, "sync %s failed: %v\n", commit, err)
	}
	if res.Set != nil {
		for _, p := range res.Set.Problems {
			fmt.Fprintln(out, p.String())
		}
	}
	for _, c := range res.Changes.Entries {
		if c.Action == apply.Unchanged && !verbose {
			continue
		}
		ws := c.Workspace
		if ws == "" {
			ws = "-"
		}
		fmt.Fprintf(out, "%s: %s\n", ws, c.String())
	}
	for _, key := range slices.Sorted(maps.Keys(res.Nodes)) {
		if st := res.Nodes[key]; !st.Ready || verbose {
			fmt.Fprintf(out, "%s: nodes %s: %s\n", key, st.Reason, st.Message)
		}
	}
	for key, rerr := range res.RenderErrors {
		fmt.Fprintf(out, "%s: render failed: %v\n", key, rerr)
	}
	if res.PruneBlocked != "" {
		fmt.Fprintf(out, "prune refused: %s\n", res.PruneBlocked)
	}
	valid, invalid := 0, 0
	if res.Set != nil {
		valid = len(res.Set.Valid())
		invalid = len(res.Set.Workspaces) - valid
	}
	fmt.Fprintf(out, "synced %s in %s: %d workspaces valid, %d invalid; %s\n",
		commit, res.Duration.Round(time.Millisecond), valid, invalid, res.Changes.Summary())
}
