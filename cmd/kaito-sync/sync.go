package main

import (
	"bytes"
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
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kaito-sync/kaito-sync/presets"
	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/status/branch"
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
	kubeContext        string
	apiServerTimeout   time.Duration
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

--dry-run changes nothing anywhere: no object is written (server-side dry run), no file or branch
is written, no node pool is created or deleted, no status is published; it reports what would be.

With --once it syncs and exits:
  0  everything synced
  1  the sync ran but did not do all of its job: a workspace is invalid, an object or render
     failed, a prune was refused (--allow-mass-prune), the hydrate branch or the statuses were
     not written
  2  usage error (a flag, a kubeconfig that cannot be loaded)
  3  no sync could run: the repository could not be fetched, the API server did not answer`,
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
	fl.DurationVar(&f.interval, "interval", time.Minute, "poll interval (with up to 10% jitter), at least "+minInterval.String()+"; 0 polls never (sync on webhook or file change only)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	fl.StringVar(&f.kubeContext, "context", "", "kubeconfig context to use (default: its current context)")
	fl.DurationVar(&f.apiServerTimeout, "api-server-timeout", 30*time.Second, "how long the API server may take to answer at start: --once fails after it, the long-running sync retries with backoff")
	fl.StringVar(&f.target, "target", "", "cluster, git or dir (default: cluster when a kubeconfig is found, else git)")
	fl.StringVar(&f.out, "out", "", "folder for --target dir")
	fl.StringVar(&f.hydrateBranch, "hydrate-branch", "kaito-sync/rendered", "branch for --target git")
	fl.BoolVar(&f.dryRun, "dry-run", false, "report what would change; change nothing in the cluster, the cloud, a folder or a branch")
	fl.BoolVar(&f.allowMassPrune, "allow-mass-prune", false, "allow one sync to remove more than half of the workspaces")
	fl.BoolVar(&f.allowSecrets, "allow-secrets", false, "accept plain-text Secrets in the repository")
	fl.StringSliceVar(&f.namespaces, "namespaces", nil, "the only namespaces objects may be applied to (default: all but kube-system, kube-public, kube-node-lease)")
	fl.StringVar(&f.defaultNamespace, "default-namespace", "default", "namespace of workspaces that name none")
	addGitAuthFlags(fl, &f.auth)
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log unchanged objects and debug details")
	fl.StringVar(&f.webhookAddr, "webhook-addr", "", "listen address for push webhooks (POST /hook), e.g. :9292")
	fl.StringVar(&f.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook secret (GitHub HMAC, GitLab token or bearer token)")
	fl.BoolVar(&f.watch, "watch", true, "with a local folder in --repo, sync when its files change (fsnotify)")
	f.provision = addProvisionFlags(fl)
	f.status = addStatusFlags(fl)
	f.daemon = addDaemonFlags(fl)
	f.verify = addVerifyFlags(fl)
	completeSyncFlags(cmd)
	return cmd
}

func runSync(ctx context.Context, out, errOut io.Writer, f syncFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	if err := checkInputFlags(f.path, f.defaultNamespace); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log, err := newLogger(errOut, f.daemon.logFormat, f.verbose)
	if err != nil {
		return err
	}
	setMemoryLimit(log)
	logCredentials(log, f.auth, f.repo, f.status.repoURL())
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
	_, isLocal := src.(source.Local)
	cfg, err := f.chooseTarget(log, isLocal)
	if err != nil {
		return err
	}
	if f.target == "cluster" {
		// Before anything lists or watches: an API server that does not answer fails a --once run
		// in seconds, and the long-running sync says it is waiting rather than hanging silently.
		if f.once {
			err = reachAPIServer(ctx, cfg, f.apiServerTimeout)
		} else {
			err = waitForAPIServer(ctx, cfg, f.apiServerTimeout, log)
		}
		if err != nil {
			return &exitError{code: exitNoSync, err: err}
		}
	}
	// The manager's watches end with managerCtx: a --once run ends them after its sync (see runOnce).
	managerCtx, stopManager := context.WithCancel(ctx)
	defer stopManager()
	target, manager, err := f.buildTarget(managerCtx, src, repoID, cfg)
	if err != nil {
		return err
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
		if f.dryRun {
			prov = provision.DryRun{P: prov} // no agent pool is created, scaled or deleted
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
	onPublish := func(r *status.Report, _ bool, _ error) { m.ObserveStates(r.Counts(), status.States) }
	if f.target == "dir" && f.status != nil && f.status.enabled && f.status.repo == "" {
		// A folder target gets its statuses beside the manifests, through the same reporter.
		rep = status.NewReporter(status.ReporterOptions{Writer: &branch.Folder{Dir: filepath.Join(f.out, "status")}, Logger: log, OnPublish: onPublish})
	} else if rep, err = f.status.reporter(f.repo, f.branch, f.auth, statusCfg, log, onPublish); err != nil {
		return err
	}
	renderOpts, err := f.renderOptions(ctx, cfg, log)
	if err != nil {
		return err
	}
	r := ksync.NewReconciler(src, target, presets.Default(), ksync.Options{
		Load:           workspaces.Options{AllowSecrets: f.allowSecrets, DefaultNamespace: f.defaultNamespace},
		Check:          workspaces.CheckOptions{Namespaces: workspaces.NamespacePolicy{Allowed: f.namespaces}},
		AllowMassPrune: f.allowMassPrune,
		Logger:         log,
		Provisioner:    prov,
		Render:         renderOpts,
	})
	run := syncRun{flags: f, r: r, rep: rep, metrics: m, log: log}
	if f.once {
		return run.once(ctx, stop, stopManager, out, errOut)
	}
	return run.daemon(ctx, src, manager, probe, statusCfg)
}

// chooseTarget settles --target and loads the cluster's config when the target needs one. With no
// --target, the cluster is the target when one is found and none was named; the choice is said.
func (f *syncFlags) chooseTarget(log *slog.Logger, localFolder bool) (*rest.Config, error) {
	access := clusterAccess{kubeconfig: f.kubeconfig, context: f.kubeContext}
	cfg, cfgErr := access.config()
	if cfgErr != nil && access.explicit() {
		return nil, usageErrorf("%v", cfgErr)
	}
	if f.target == "" {
		if cfgErr == nil {
			f.target = "cluster"
			log.Info("no --target given: applying to the cluster of the kubeconfig", "server", cfg.Host)
		} else if localFolder {
			return nil, usageErrorf("no --target given and %v: give a kubeconfig, or --target dir --out DIR to write the rendered manifests to a folder", cfgErr)
		} else {
			f.target = "git"
			log.Warn("no --target given and no cluster access found: committing rendered manifests to a branch of --repo",
				"branch", f.hydrateBranch, "why", cfgErr.Error())
		}
	}
	if f.target == "cluster" && cfgErr != nil {
		return nil, usageErrorf("--target cluster: %v", cfgErr)
	}
	return cfg, nil
}

// buildTarget makes the target of f.target; for a cluster it also starts the apply manager's
// watches (until ctx ends).
func (f *syncFlags) buildTarget(ctx context.Context, src source.Source, repoID string, cfg *rest.Config) (ksync.Target, *apply.Manager, error) {
	switch f.target {
	case "cluster":
		root := apply.RootID(repoID, f.branch, f.path)
		f.provision.root = root
		if f.status != nil {
			f.status.root = root
		}
		manager, err := apply.New(cfg, apply.Options{Root: root, Namespaces: f.namespaces, DryRun: f.dryRun})
		if err != nil {
			return nil, nil, err
		}
		// Followers keep their caches warm too, so a takeover starts with a no-op diff, not a relist.
		if err := manager.Start(ctx); err != nil {
			return nil, nil, err
		}
		return ksync.Cluster{M: manager}, manager, nil
	case "dir":
		t, err := ksync.NewFolder(f.out, f.dryRun)
		return t, nil, err
	case "git":
		if _, isLocal := src.(source.Local); isLocal {
			return nil, nil, usageErrorf("--target git needs a Git URL in --repo (file:// for a local repository); use --target dir --out DIR for a folder")
		}
		auth, err := f.auth.Auth(f.repo)
		if err != nil {
			return nil, nil, err
		}
		return &ksync.GitBranch{URL: f.repo, Branch: f.hydrateBranch, Auth: auth, DryRun: f.dryRun}, nil, nil
	}
	return nil, nil, usageErrorf("unknown --target %q: use cluster, git or dir", f.target)
}

// syncRun is a sync wired up: what runs it once or until stopped.
type syncRun struct {
	flags   syncFlags
	r       *ksync.Reconciler
	rep     *status.Reporter
	metrics *metrics.Metrics
	log     *slog.Logger
}

func (s syncRun) publish(res *ksync.Result, err error) {
	s.metrics.ObserveSync(res, err)
	s.rep.Observe(res)
}

// once syncs, publishes the statuses and returns the exit status (see the sync command's help).
func (s syncRun) once(ctx context.Context, stop, stopManager func(), out, errOut io.Writer) error {
	res, err := s.r.SyncOnce(ctx)
	if s.flags.daemon.logFormat == "json" {
		log := s.log
		if s.flags.dryRun {
			log = log.With("dry_run", true)
		}
		logResult(log, res, err)
	} else {
		printResult(out, errOut, res, err, s.flags.verbose, s.flags.dryRun)
	}
	// The sync is done: its watches, render cache and desired objects are let go, and only
	// then does the status reporter list what the sync left, so the two never hold a fleet's
	// objects at the same time (a --once run's peak of memory). The reconciler holds the render
	// cache and the desired objects: s is alive until the statuses are written, so it must drop
	// its reference (kept, it cost 60 MiB of peak RSS for 1,000 workspaces: BENCHMARKS.md).
	s.r = nil
	stopManager()
	if s.rep != nil {
		// And the heap they leave is handed back to the OS now rather than by the runtime's
		// background scavenger, which is paced to return it over seconds: the status write
		// would otherwise grow the resident set on top of what the sync left mapped.
		debug.FreeOSMemory()
	}
	reporterDone := startReporter(ctx, s.rep, s.log)
	s.publish(res, err)
	var statusErr error
	if ferr := s.rep.Flush(ctx); ferr != nil {
		statusErr = fmt.Errorf("statuses: %w", ferr)
	}
	if statusErr != nil {
		s.log.Error("statuses not written", "err", statusErr)
	}
	stop()
	<-reporterDone
	switch {
	case err != nil && res != nil && res.FetchErr != nil:
		return &exitError{code: exitNoSync, err: errSilent}
	case err != nil, res.Failed(), res.PruneBlocked != "", statusErr != nil:
		return &exitError{code: exitInvalid, err: errSilent}
	}
	return nil
}

// daemon syncs on every trigger until ctx ends, while this process leads.
func (s syncRun) daemon(ctx context.Context, src source.Source, manager *apply.Manager, probe *probes, statusCfg *rest.Config) error {
	f, log := s.flags, s.log
	var ins []<-chan trigger.Trigger
	if f.interval > 0 {
		ins = append(ins, trigger.Poll(ctx, f.interval, 0.1))
	}
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
		hook, err := startWebhook(ctx, f, s.metrics, log)
		if err != nil {
			return err
		}
		ins = append(ins, hook)
	}
	triggers := trigger.Merge(ctx, ins...)
	lead := func(leading context.Context) {
		st := ksync.NewStages(leading, ctx, f.daemon.shutdownGrace, func() { probe.stopping.Store(true) }, log)
		defer st.Cancel()
		hard := st.Hard
		reporterDone := startReporter(hard, s.rep, log)
		if manager != nil {
			go ksync.RepairDrift(st.Soft, manager, log)
		}
		s.r.RunUntil(hard, ctx.Done(), triggers, func(res *ksync.Result, err error) {
			logResult(log, res, err)
			s.publish(res, err)
		})
		// The last statuses go out whole before the Lease is released.
		if hard.Err() == nil {
			if err := s.rep.Flush(hard); err != nil {
				log.Error("status branch: final write failed", "err", err)
			}
		}
		st.Cancel()
		<-reporterDone
	}
	return runLeading(ctx, f.daemon, statusCfg, s.metrics, probe, log, lead)
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
		return nil, usageErrorf("--webhook-secret-file: %v", err)
	}
	if len(bytes.TrimSpace(secret)) == 0 {
		// An empty secret would start a webhook that refuses every delivery.
		return nil, usageErrorf("--webhook-secret-file %s is empty", f.webhookSecretFile)
	}
	hook := trigger.NewWebhook(bytes.TrimSpace(secret), f.branch, log)
	hook.Observe = m.ObserveWebhook
	mux := http.NewServeMux()
	mux.Handle("/hook", hook)
	if err := serve(ctx, f.webhookAddr, mux, log, "webhook"); err != nil {
		return nil, err
	}
	return hook.C, nil
}

func buildSource(f syncFlags) (source.Source, string, error) {
	repo, err := resolveRepo(f.repo)
	if err != nil {
		return nil, "", err
	}
	var auth transport.AuthMethod
	if repo.Kind == source.RepoURL {
		if auth, err = f.auth.Auth(f.repo); err != nil {
			return nil, "", err
		}
	}
	keyRing, err := f.verify.keyRing(repo.Local())
	if err != nil {
		return nil, "", err
	}
	return repo.Source(source.GitOptions{Branch: f.branch, Path: f.path, Auth: auth, KeyRing: keyRing}), repo.ID(), nil
}

// printResult writes a changeset per workspace, like a plan applied: one line per object that
// changed (every object with -v) and a summary on out; problems and failures on errOut. A sync
// that failed before it could finish ends with the failure, not with a summary that would read as
// "nothing to do".
func printResult(out, errOut io.Writer, res *ksync.Result, err error, verbose, dryRun bool) {
	if res == nil {
		res = &ksync.Result{}
	}
	commit := syncedWhat(res)
	if res.Set != nil {
		for _, p := range res.Set.Problems {
			fmt.Fprintln(errOut, p.String())
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
		w := out
		if c.Action == apply.Failed {
			w = errOut
		}
		fmt.Fprintf(w, "%s: %s\n", ws, c.String())
	}
	for _, key := range slices.Sorted(maps.Keys(res.Nodes)) {
		if st := res.Nodes[key]; !st.Ready || verbose {
			fmt.Fprintf(out, "%s: nodes %s: %s\n", key, st.Reason, st.Message)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(res.RenderErrors)) {
		fmt.Fprintf(errOut, "%s: render failed: %v\n", key, res.RenderErrors[key])
	}
	if res.PruneBlocked != "" {
		fmt.Fprintf(errOut, "prune refused: %s\n", res.PruneBlocked)
	}
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			fmt.Fprintf(errOut, "sync %s failed: %v\n", commit, err)
		}
		return
	}
	verb := "synced"
	if dryRun {
		verb = "dry run of"
	}
	valid, invalid := res.Counts()
	fmt.Fprintf(out, "%s %s in %s: %s valid, %d invalid; %s\n",
		verb, commit, res.Duration.Round(time.Millisecond), plural(valid, "workspace"), invalid, res.Changes.Summary())
}
