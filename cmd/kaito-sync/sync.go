package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
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
	"github.com/kaito-sync/kaito-sync/sync/metrics"
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
	daemon             *daemonFlags
	verify             *verifyFlags
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
	f.daemon = addDaemonFlags(fl)
	f.verify = addVerifyFlags(fl)
	return cmd
}

func runSync(ctx context.Context, out, errOut io.Writer, f syncFlags) error {
	if f.repo == "" {
		return usageErrorf("--repo is required")
	}
	if err := checkInputFlags(f.path, f.defaultNamespace); err != nil {
		return err
	}
	if f.once && f.daemon.leaderElect {
		return usageErrorf("--leader-elect is for the long-running sync; drop --once or --leader-elect")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, err := newLogger(errOut, f.daemon.logFormat, f.verbose)
	if err != nil {
		return err
	}
	setMemoryLimit(log)
	logURLCredentials(log, f.repo, f.status.repoURL())
	m := metrics.New()
	// Probes and metrics come up first: /healthz answers while the caches list, and a process
	// stuck there is visible (readyz false) rather than silent.
	probe := &probes{}
	if !f.once {
		if err := serveObservability(ctx, f.daemon.metricsAddr, m, probe, log); err != nil {
			return err
		}
	}

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
	// The manager's watches end with managerCtx: a --once run ends them after its sync (see below).
	managerCtx, stopManager := context.WithCancel(ctx)
	defer stopManager()
	switch f.target {
	case "cluster":
		if cfgErr != nil {
			return usageErrorf("--target cluster: %v", cfgErr)
		}
		root := apply.RootID(repoID, f.branch, f.path)
		f.provision.root = root
		if f.status != nil {
			f.status.root = root
		}
		manager, err = apply.New(cfg, apply.Options{Root: root, Namespaces: f.namespaces, DryRun: f.dryRun})
		if err != nil {
			return err
		}
		// Followers keep their caches warm too, so a takeover starts with a no-op diff, not a relist.
		if err := manager.Start(managerCtx); err != nil {
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
		f.provision.observe = m.ObserveAKS
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
		onPublish := func(r *status.Report, _ bool, _ error) { m.ObserveStates(r.Counts(), status.States) }
		if rep, err = f.status.reporter(f.repo, f.branch, f.auth, statusCfg, log, onPublish); err != nil {
			return err
		}
	}
	var folder *folderStatus
	if f.target == "dir" && f.status != nil && f.status.enabled {
		folder = &folderStatus{dir: f.out}
	}
	publish := func(res *ksync.Result, err error) {
		m.ObserveSync(res, err)
		rep.Observe(res)
		if err := folder.write(res); err != nil {
			log.Error("status folder", "err", err)
		}
	}
	renderOpts, err := f.renderOptions(ctx, cfg, log)
	if err != nil {
		return err
	}
	r := ksync.NewReconciler(src, target, presets.Default(), ksync.Options{
		Load:           workspaces.Options{AllowSecrets: f.allowSecrets, DefaultNamespace: f.defaultNamespace},
		AllowMassPrune: f.allowMassPrune,
		Logger:         log,
		Provisioner:    prov,
		Render:         renderOpts,
	})
	if f.once {
		res, err := r.SyncOnce(ctx)
		printResult(out, res, err, f.verbose)
		// The sync is done: its watches, render cache and desired objects are let go, and only
		// then does the status reporter list what the sync left, so the two never hold a fleet's
		// objects at the same time (a --once run's peak of memory).
		stopManager()
		if rep != nil {
			// And the heap they leave is handed back to the OS now rather than by the runtime's
			// background scavenger, which is paced to return it over seconds: the status write
			// would otherwise grow the resident set on top of what the sync left mapped.
			debug.FreeOSMemory()
		}
		reporterDone := startReporter(ctx, rep, log)
		publish(res, err)
		if ferr := rep.Flush(ctx); ferr != nil {
			fmt.Fprintf(errOut, "status branch: %v\n", ferr)
		}
		stop()
		<-reporterDone
		if err != nil || res.Failed() {
			return &exitError{code: exitInvalid, err: errSilent}
		}
		return nil
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
		// Every replica listens; deploy/ sends deliveries to the leader's Pod. A follower's
		// triggers are dropped: its first sync after a takeover reads the branch anyway.
		hook, err := startWebhook(ctx, f, m, log)
		if err != nil {
			return err
		}
		ins = append(ins, hook)
	}
	triggers := trigger.Merge(ctx, ins...)
	lead := func(leading context.Context) {
		// hard ends the sync in progress: at once when leadership is lost, after the grace period
		// on shutdown; ctx ending only stops new syncs.
		hard, cancelHard := context.WithCancel(leading)
		defer cancelHard()
		go func() {
			select {
			case <-ctx.Done():
				probe.stopping.Store(true)
				t := time.NewTimer(f.daemon.shutdownGrace)
				defer t.Stop()
				select {
				case <-t.C:
					log.Warn("shutdown grace period over: abandoning the sync in progress")
					cancelHard()
				case <-hard.Done():
				}
			case <-hard.Done():
			}
		}()
		soft, cancelSoft := context.WithCancel(hard)
		defer cancelSoft()
		context.AfterFunc(ctx, cancelSoft)
		reporterDone := startReporter(hard, rep, log)
		if manager != nil {
			go ksync.RepairDrift(soft, manager, log)
		}
		r.RunUntil(hard, ctx.Done(), triggers, func(res *ksync.Result, err error) {
			logResult(log, res, err)
			publish(res, err)
		})
		// The last statuses go out whole before the Lease is released.
		if hard.Err() == nil {
			if err := rep.Flush(hard); err != nil {
				log.Error("status branch: final write failed", "err", err)
			}
		}
		cancelHard()
		<-reporterDone
	}
	if err := runLeading(ctx, f.daemon, statusCfg, m, probe, log, lead); err != nil {
		return err
	}
	return nil
}

// startReporter runs the status reporter until ctx ends; the channel closes when it has stopped.
func startReporter(ctx context.Context, rep *status.Reporter, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	if rep == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		if err := rep.Run(ctx); err != nil {
			log.Error("status branch: reporter stopped", "err", err)
		}
	}()
	return done
}

// startWebhook serves POST /hook until ctx ends.
func startWebhook(ctx context.Context, f syncFlags, m *metrics.Metrics, log *slog.Logger) (<-chan trigger.Trigger, error) {
	if f.webhookSecretFile == "" {
		return nil, usageErrorf("--webhook-addr needs --webhook-secret-file: an open webhook lets anyone trigger syncs")
	}
	secret, err := os.ReadFile(f.webhookSecretFile)
	if err != nil {
		return nil, err
	}
	hook := trigger.NewWebhook([]byte(strings.TrimSpace(string(secret))), f.branch, log)
	hook.Observe = m.ObserveWebhook
	mux := http.NewServeMux()
	mux.Handle("/hook", hook)
	if err := serve(ctx, f.webhookAddr, mux, log, "webhook"); err != nil {
		return nil, err
	}
	return hook.C, nil
}

func buildSource(f syncFlags) (source.Source, string, error) {
	if info, err := os.Stat(f.repo); err == nil && info.IsDir() {
		abs, err := filepath.Abs(f.repo)
		if err != nil {
			return nil, "", err
		}
		if _, err := f.verify.keyRing(true); err != nil {
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
	keyRing, err := f.verify.keyRing(false)
	if err != nil {
		return nil, "", err
	}
	return source.NewGit(source.GitOptions{URL: f.repo, Branch: f.branch, Path: f.path, Auth: auth, KeyRing: keyRing}), source.RootURL(f.repo), nil
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
