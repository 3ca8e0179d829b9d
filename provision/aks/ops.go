package aks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/kaito-sync/kaito-sync/internal/ctxwait"
	"github.com/kaito-sync/kaito-sync/provision"
)

// op is one background operation on a pool: create, update (scale), replace, delete, or the
// resumed watch of an operation a previous kaito-sync process started.
type op struct {
	kind      string // create, update, replace, delete, resume
	desc      string // "creating agent pool ws0123456789 (Standard_NC24ads_A100_v4×2)"
	workspace string
	sku       string
	count     int
	started   time.Time

	// Set when the operation ends, under Provisioner.mu.
	done     bool
	err      error
	finished time.Time
	failures int // consecutive failed operations on this pool, for backoff
}

func (o *op) progress() provision.NodeState {
	return provision.NodeState{Reason: provision.ReasonProvisioning,
		Message: fmt.Sprintf("%s, %s elapsed", o.desc, time.Since(o.started).Round(time.Second))}
}

// start runs fn in the background as the pool's operation. Callers hold p.mu.
func (p *Provisioner) start(pool string, o *op, fn func(ctx context.Context, o *op) error) *op {
	if prev := p.ops[pool]; prev != nil && prev.err != nil {
		o.failures = prev.failures
	}
	o.started = time.Now()
	p.ops[pool] = o
	p.log.Info("agent pool operation started", "pool", pool, "workspace", o.workspace, "op", o.desc)
	go func() {
		err := fn(p.life, o)
		p.mu.Lock()
		defer p.mu.Unlock()
		o.done, o.err, o.finished = true, err, time.Now()
		if p.cfg.Observe != nil {
			reason := ""
			if err != nil {
				reason = classify(pool, o.sku, o.count, err).Reason
			}
			p.cfg.Observe(o.kind, o.finished.Sub(o.started), reason)
		}
		if err != nil {
			o.failures++
			p.log.Error("agent pool operation failed", "pool", pool, "workspace", o.workspace, "op", o.desc,
				"elapsed", time.Since(o.started).Round(time.Second), "err", err)
			return
		}
		p.log.Info("agent pool operation done", "pool", pool, "workspace", o.workspace, "op", o.desc,
			"elapsed", time.Since(o.started).Round(time.Second))
	}()
	return o
}

// retryIn is how long after a failed operation the next attempt waits: Retry-After when throttled,
// else the backoff doubled per consecutive failure.
func (p *Provisioner) retryIn(o *op, f failure) time.Duration {
	if f.Reason == provision.ReasonThrottled {
		return f.RetryAfter
	}
	d := p.cfg.Backoff
	for i := 1; i < o.failures && d < p.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.cfg.MaxBackoff)
}

// put creates or updates the pool and waits for the operation to end.
func (p *Provisioner) put(ctx context.Context, pool string, want armcontainerservice.AgentPool, o *op) error {
	poller, err := p.client.BeginCreateOrUpdate(ctx, p.cfg.ResourceGroup, p.cfg.Cluster, pool, want, nil)
	if err != nil {
		return err
	}
	return waitLRO(ctx, p, pool, o, poller)
}

// remove deletes the pool, first letting any operation in flight on it end (AKS refuses a delete
// while the pool is being created or scaled), and waits until it is gone.
func (p *Provisioner) remove(ctx context.Context, pool string, o *op) error {
	if err := p.watch(ctx, pool, o); err != nil && !errors.Is(err, errPoolFailed) {
		return err
	}
	poller, err := p.client.BeginDelete(ctx, p.cfg.ResourceGroup, p.cfg.Cluster, pool, nil)
	if err != nil {
		if classify(pool, o.sku, o.count, err).NotFound {
			return nil
		}
		return err
	}
	return waitLRO(ctx, p, pool, o, poller)
}

var errPoolFailed = errors.New("provisioning state Failed")

// watch polls the pool until no operation is in flight on it: how an operation started by a
// previous process is resumed. A pool that is gone counts as settled.
func (p *Provisioner) watch(ctx context.Context, pool string, o *op) error {
	for {
		got, err := p.client.Get(ctx, p.cfg.ResourceGroup, p.cfg.Cluster, pool, nil)
		if err != nil {
			f := classify(pool, o.sku, o.count, err)
			switch {
			case f.NotFound:
				return nil
			case f.Reason == provision.ReasonThrottled:
				if err := ctxwait.Sleep(ctx, f.RetryAfter); err != nil {
					return err
				}
				continue
			}
			return err
		}
		switch s := state(&got.AgentPool); s {
		case "Succeeded", "Canceled", "":
			return nil
		case "Failed":
			return errPoolFailed
		default:
			p.log.Info("agent pool operation in progress", "pool", pool, "state", s, "op", o.desc,
				"elapsed", time.Since(o.started).Round(time.Second))
		}
		if err := ctxwait.Sleep(ctx, p.cfg.PollInterval); err != nil {
			return err
		}
	}
}

// waitLRO polls a long-running operation to its end, logging progress, sitting out throttling.
func waitLRO[T any](ctx context.Context, p *Provisioner, pool string, o *op, poller *runtime.Poller[T]) error {
	for !poller.Done() {
		if err := ctxwait.Sleep(ctx, p.cfg.PollInterval); err != nil {
			return err
		}
		if _, err := poller.Poll(ctx); err != nil {
			if f := classify(pool, o.sku, o.count, err); f.Reason == provision.ReasonThrottled {
				p.log.Warn("agent pool poll throttled", "pool", pool, "retryAfter", f.RetryAfter)
				if err := ctxwait.Sleep(ctx, f.RetryAfter); err != nil {
					return err
				}
				continue
			}
			return err
		}
		p.log.Info("agent pool operation in progress", "pool", pool, "op", o.desc, "elapsed", time.Since(o.started).Round(time.Second))
	}
	_, err := poller.Result(ctx)
	return err
}
