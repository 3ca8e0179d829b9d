package aks

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kaito-sync/kaito-sync/provision"
)

// Ensure implements provision.Provisioner. It starts or reports the pool's operation and, once
// the pool is provisioned, reports on its nodes. It makes at most one ARM read per call.
func (p *Provisioner) Ensure(ctx context.Context, need provision.Need) (provision.NodeState, error) {
	pool := PoolName(need.Workspace)
	if need.InstanceType == "" {
		return provision.NodeState{Reason: provision.ReasonProvisioningFailed,
			Message: fmt.Sprintf("workspace %s: no instanceType: an AKS agent pool needs a VM size (or use --provisioner byo)", need.Workspace)}, nil
	}
	desc := fmt.Sprintf("agent pool %s (%s×%d)", pool, need.InstanceType, max(need.Count, 1))

	p.mu.Lock()
	if st, wait := p.pending(pool, need); wait {
		p.mu.Unlock()
		return st, nil
	}
	if st, wait := p.throttled(); wait {
		p.mu.Unlock()
		return st, nil
	}
	p.mu.Unlock()

	got, err := p.client.Get(ctx, p.cfg.ResourceGroup, p.cfg.Cluster, pool, nil)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		f := classify(pool, need.InstanceType, need.Count, err)
		if !f.NotFound {
			return p.failed(f), nil
		}
		want := desiredPool(need, p.cfg.Root)
		o := p.start(pool, p.newOp("create", "creating "+desc, need), func(ctx context.Context, o *op) error {
			return p.put(ctx, pool, want, o)
		})
		return o.progress(), nil
	}

	have := &got.AgentPool
	if ws, ok := owned(have, p.cfg.Root); !ok || ws != need.Workspace {
		return provision.NodeState{Reason: provision.ReasonProvisioningFailed,
			Message: fmt.Sprintf("agent pool %s: exists but is not kaito-sync's pool for %s (tags %v): left alone", pool, need.Workspace, valueMap(have.Properties.Tags))}, nil
	}
	switch s := state(have); s {
	case "Succeeded", "Canceled", "Failed":
		// Settled: compare below. A Failed pool is put again, which is how AKS repairs one.
	default:
		// Creating, Scaling, Updating, Deleting...: an operation started before a restart, or by
		// someone else. Watch it rather than start a second one.
		o := p.start(pool, p.newOp("resume", fmt.Sprintf("waiting for %s (%s)", desc, s), need), func(ctx context.Context, o *op) error {
			return p.watch(ctx, pool, o)
		})
		return o.progress(), nil
	}

	want := desiredPool(need, p.cfg.Root)
	replace, update := drift(*have, want)
	if state(have) == "Failed" && replace == "" {
		update = "repairing a Failed pool"
	}
	switch {
	case replace != "":
		o := p.start(pool, p.newOp("replace", fmt.Sprintf("replacing %s: %s", desc, replace), need), func(ctx context.Context, o *op) error {
			if err := p.remove(ctx, pool, o); err != nil {
				return err
			}
			return p.put(ctx, pool, want, o)
		})
		return o.progress(), nil
	case update != "":
		o := p.start(pool, p.newOp("update", fmt.Sprintf("updating %s: %s", desc, update), need), func(ctx context.Context, o *op) error {
			return p.put(ctx, pool, want, o)
		})
		return o.progress(), nil
	}
	return p.nodes(ctx, pool, desc, need)
}

func (p *Provisioner) newOp(kind, desc string, need provision.Need) *op {
	return &op{kind: kind, desc: desc, workspace: need.Workspace, sku: need.InstanceType, count: max(need.Count, 1)}
}

// pending reports the pool's operation when one runs, or its failure while its retry waits.
// Callers hold p.mu.
func (p *Provisioner) pending(pool string, need provision.Need) (provision.NodeState, bool) {
	o := p.ops[pool]
	switch {
	case o == nil:
		return provision.NodeState{}, false
	case !o.done:
		return o.progress(), true
	case o.err == nil:
		delete(p.ops, pool) // done: the pool is read afresh
		return provision.NodeState{}, false
	}
	f := classify(pool, o.sku, o.count, o.err)
	if f.Reason == provision.ReasonThrottled {
		p.throttleUntil(f)
	}
	left := time.Until(o.finished.Add(p.retryIn(o, f)))
	changed := o.sku != need.InstanceType || o.count != max(need.Count, 1)
	if left <= 0 || changed { // a new need (count, SKU) is worth an attempt at once
		return provision.NodeState{}, false
	}
	// Rounded up: a wait under half a second must not read "retrying in 0s".
	st := provision.NodeState{Reason: f.Reason, Message: fmt.Sprintf("%s; retrying in %s", f.Message, (left + time.Second - 1).Truncate(time.Second)), RetryAfter: left}
	return st, true
}

// failed turns an error of a read into a state, remembering throttling. Callers hold p.mu.
func (p *Provisioner) failed(f failure) provision.NodeState {
	if f.Reason == provision.ReasonThrottled {
		p.throttleUntil(f)
	}
	return provision.NodeState{Reason: f.Reason, Message: f.Message, RetryAfter: f.RetryAfter}
}

// throttleUntil stops every ARM call until Retry-After has passed: ARM throttles per
// subscription, so one pool's 429 is every pool's. Callers hold p.mu.
func (p *Provisioner) throttleUntil(f failure) {
	if until := time.Now().Add(f.RetryAfter); until.After(p.throttledUntil) {
		p.throttledUntil, p.throttle = until, f
	}
}

func (p *Provisioner) throttled() (provision.NodeState, bool) {
	left := time.Until(p.throttledUntil)
	if left <= 0 {
		return provision.NodeState{}, false
	}
	return provision.NodeState{Reason: provision.ReasonThrottled, Message: p.throttle.Message, RetryAfter: left}, true
}

// nodes reports on the nodes of a provisioned pool, as the cluster sees them.
func (p *Provisioner) nodes(ctx context.Context, pool, desc string, need provision.Need) (provision.NodeState, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelAgentPool: pool})
	list, err := p.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return provision.NodeState{}, fmt.Errorf("agent pool %s: list nodes: %w", pool, err)
	}
	st := provision.Assess(list.Items, need, nil)
	if !st.Ready && st.Reason == provision.ReasonMissingNodes {
		// The pool exists; its VMs have not joined the cluster yet.
		st.Reason = provision.ReasonNodesNotReady
	}
	st.Message = desc + ": " + st.Message
	return st, nil
}

// Holds implements provision.Holder: whether a pool exists or is being made for the workspace.
func (p *Provisioner) Holds(ctx context.Context, workspace string) (bool, error) {
	pool := PoolName(workspace)
	p.mu.Lock()
	if o := p.ops[pool]; o != nil && o.kind != "delete" {
		p.mu.Unlock()
		return true, nil
	}
	if _, wait := p.throttled(); wait {
		p.mu.Unlock()
		return true, nil // let Ensure report the throttling
	}
	p.mu.Unlock()
	got, err := p.client.Get(ctx, p.cfg.ResourceGroup, p.cfg.Cluster, pool, nil)
	if err != nil {
		if classify(pool, "", 0, err).NotFound {
			return false, nil
		}
		return false, err
	}
	ws, ok := owned(&got.AgentPool, p.cfg.Root)
	return ok && ws == workspace, nil
}

// Release implements provision.Provisioner. The delete runs in the background; List leaves the
// pool out while it runs, and lists it again if the delete fails, so the next sync retries.
func (p *Provisioner) Release(_ context.Context, workspace string) error {
	pool := PoolName(workspace)
	p.mu.Lock()
	defer p.mu.Unlock()
	if name, ok := p.listed[workspace]; ok {
		pool = name
	}
	if o := p.ops[pool]; o != nil && !o.done && o.kind == "delete" {
		return nil
	}
	p.start(pool, &op{kind: "delete", desc: fmt.Sprintf("deleting agent pool %s of %s", pool, workspace), workspace: workspace}, func(ctx context.Context, o *op) error {
		return p.remove(ctx, pool, o)
	})
	return nil
}

// List implements provision.Provisioner: the workspaces of pools tagged as kaito-sync's, except
// those being deleted. Pools without the tag are never listed, so never garbage collected.
func (p *Provisioner) List(ctx context.Context) ([]string, error) {
	p.mu.Lock()
	if st, wait := p.throttled(); wait {
		p.mu.Unlock()
		return nil, fmt.Errorf("agent pools of %s: %s", p.cfg.Cluster, st.Message)
	}
	p.mu.Unlock()
	var pools []*armcontainerservice.AgentPool
	pager := p.client.NewListPager(p.cfg.ResourceGroup, p.cfg.Cluster, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			f := classify("(list)", "", 0, err)
			p.mu.Lock()
			p.failed(f)
			p.mu.Unlock()
			return nil, fmt.Errorf("agent pools of %s: list: %w", p.cfg.Cluster, err)
		}
		pools = append(pools, page.Value...)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	listed := map[string]string{}
	var out []string
	for _, ap := range pools {
		ws, ok := owned(ap, p.cfg.Root)
		if !ok || ap.Name == nil {
			continue
		}
		if o := p.ops[*ap.Name]; state(ap) == "Deleting" || (o != nil && o.kind == "delete" && !o.done) {
			continue
		}
		listed[ws] = *ap.Name
		out = append(out, ws)
	}
	p.listed = listed
	slices.Sort(out)
	return out, nil
}
