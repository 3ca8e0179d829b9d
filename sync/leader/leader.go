// Package leader makes one kaito-sync replica of several the one that syncs: it campaigns for a
// coordination.k8s.io Lease and runs the sync loop only while it holds it, and marks its own Pod
// so a Service can send push webhooks to the leader alone.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// PodLabel marks the Pod of the replica that leads; deploy/'s webhook Service selects it.
const PodLabel = "kaito.sh/sync-leader"

// ErrLost is returned when leadership was lost while leading (the Lease could not be renewed in
// time). The caller should exit non-zero: Kubernetes restarts the container and it campaigns
// again, as every controller built on client-go does.
var ErrLost = errors.New("leader election lost")

// Options configure an election.
type Options struct {
	Config *rest.Config
	// Client, when set, is used instead of one built from Config.
	Client kubernetes.Interface
	// Namespace and Name locate the Lease.
	Namespace, Name string
	// Identity names this replica in the Lease (default: hostname + random suffix).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's (defaults 15s, 10s, 2s): a
	// follower takes over at most LeaseDuration after the leader stopped renewing.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Pod, when set (POD_NAME in a Deployment), is this replica's Pod in Namespace: labelled
	// PodLabel=true while leading, the label removed at start and when leadership ends.
	Pod    string
	Logger *slog.Logger
	// OnChange, when set, sees this replica become leader (true) and stop being leader (false).
	OnChange func(leading bool)
}

// Elector campaigns for the Lease.
type Elector struct {
	opts   Options
	kube   kubernetes.Interface
	log    *slog.Logger
	health *leaderelection.HealthzAdaptor
}

// New checks the options and builds an Elector.
func New(opts Options) (*Elector, error) {
	if opts.Namespace == "" || opts.Name == "" {
		return nil, fmt.Errorf("leader election needs a Lease namespace and name")
	}
	if opts.Identity == "" {
		host, _ := os.Hostname()
		opts.Identity = host + "_" + rand.String(6)
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = 15 * time.Second
	}
	if opts.RenewDeadline <= 0 {
		opts.RenewDeadline = 10 * time.Second
	}
	if opts.RetryPeriod <= 0 {
		opts.RetryPeriod = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	kube := opts.Client
	if kube == nil {
		var err error
		if kube, err = kubernetes.NewForConfig(opts.Config); err != nil {
			return nil, err
		}
	}
	// A leader whose renewals have failed for 20s past the lease is unhealthy: /healthz says so
	// and the kubelet restarts it rather than let it believe it still leads.
	return &Elector{opts: opts, kube: kube, log: opts.Logger.With("lease", opts.Namespace+"/"+opts.Name, "identity", opts.Identity),
		health: leaderelection.NewLeaderHealthzAdaptor(20 * time.Second)}, nil
}

// Healthz fails when this replica believes it leads but has not renewed the Lease in time.
func (e *Elector) Healthz(r *http.Request) error { return e.health.Check(r) }

// Run campaigns until ctx ends. While this replica leads, lead runs with a context that ends when
// leadership is lost. When ctx ends (shutdown), lead is expected to finish its work and return;
// only then is the Lease released, so the next leader never syncs beside this one. Run returns nil
// after a shutdown and ErrLost when leadership was lost.
func (e *Elector) Run(ctx context.Context, lead func(leading context.Context)) error {
	e.setPodLabel(ctx, false)
	// The elector's own context outlives ctx until lead has returned: releasing the Lease while
	// a sync is still applying would let the other replica start beside it.
	electCtx, cancelElect := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelElect()
	var (
		mu       sync.Mutex
		started  bool
		leadDone = make(chan struct{})
		lost     bool
	)
	go func() {
		<-ctx.Done()
		mu.Lock()
		s := started
		mu.Unlock()
		if s {
			<-leadDone
		}
		cancelElect()
	}()

	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.opts.Namespace, Name: e.opts.Name},
			Client:     e.kube.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.opts.Identity},
		},
		LeaseDuration:   e.opts.LeaseDuration,
		RenewDeadline:   e.opts.RenewDeadline,
		RetryPeriod:     e.opts.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            e.opts.Name,
		WatchDog:        e.health,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				mu.Lock()
				started = true
				mu.Unlock()
				defer close(leadDone)
				e.log.Info("leading: this replica syncs")
				e.change(true)
				e.setPodLabel(leading, true)
				lead(leading)
				if ctx.Err() == nil {
					mu.Lock()
					lost = true
					mu.Unlock()
				}
				// Off the leader's label before the Lease goes, so webhooks stop coming here.
				e.setPodLabel(context.WithoutCancel(ctx), false)
			},
			OnStoppedLeading: func() {
				e.change(false)
			},
			OnNewLeader: func(identity string) {
				if identity != e.opts.Identity {
					e.log.Info("following", "leader", identity)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	e.health.SetLeaderElection(le)
	le.Run(electCtx)
	mu.Lock()
	s := started
	mu.Unlock()
	if s {
		<-leadDone // client-go returns as soon as renewal stops; lead may still be unwinding
	}
	mu.Lock()
	defer mu.Unlock()
	if lost || (started && ctx.Err() == nil) {
		return ErrLost
	}
	return nil
}

func (e *Elector) change(leading bool) {
	if e.opts.OnChange != nil {
		e.opts.OnChange(leading)
	}
}

// setPodLabel puts or removes PodLabel on this replica's Pod. Failing is logged, not fatal: the
// label only steers webhooks, and polling still finds every push.
func (e *Elector) setPodLabel(ctx context.Context, on bool) {
	if e.opts.Pod == "" {
		return
	}
	value := "null"
	if on {
		value = `"true"`
	}
	patch := []byte(`{"metadata":{"labels":{"` + PodLabel + `":` + value + `}}}`)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := e.kube.CoreV1().Pods(e.opts.Namespace).Patch(ctx, e.opts.Pod, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kaito-sync"}); err != nil {
		e.log.Warn("cannot label this replica's pod; webhooks may reach a follower (polling still syncs)",
			"pod", e.opts.Pod, "leading", on, "err", err)
	}
}
