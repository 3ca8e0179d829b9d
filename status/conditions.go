package status

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/sync/apply"
)

// computer fills the conditions, nodes, endpoint and objects of one workspace.
type computer struct {
	in      Input
	st      *WorkspaceStatus
	changes []apply.Change
}

func (c *computer) set(t string, s ConditionStatus, reason, msg string) Condition {
	cond := Condition{Type: t, Status: s, Reason: reason, Message: msg}
	c.st.Conditions = append(c.st.Conditions, cond)
	return cond
}

// modeConditions are the conditions between ResourceReady and WorkspaceReady.
func (c *computer) modeConditions() []string {
	if c.st.Mode == "tuning" {
		return []string{JobStarted, JobSucceeded}
	}
	return []string{InferenceReady}
}

// ready sets WorkspaceReady and its newer name WorkspaceSucceeded alike.
func (c *computer) ready(s ConditionStatus, reason, msg string) {
	c.set(WorkspaceReady, s, reason, msg)
	c.set(WorkspaceSucceeded, s, reason, msg)
}

// invalid is a workspace kaito-sync did not apply: nothing in the cluster speaks for it.
func (c *computer) invalid(reason, msg string) {
	why := "nothing was applied: the workspace has errors"
	c.set(ResourceReady, Unknown, ReasonNotApplied, why)
	for _, t := range c.modeConditions() {
		c.set(t, Unknown, ReasonNotApplied, why)
	}
	c.ready(False, reason, msg)
}

// applied is a workspace kaito-sync rendered and applied (or wrote, in hydrate mode).
func (c *computer) applied(nodes map[string]provision.NodeState) {
	c.objects()
	failed := c.failedChange()
	if c.in.Cluster == nil {
		why := "hydrate mode: the objects were rendered, no cluster to ask"
		c.set(ResourceReady, Unknown, ReasonNoCluster, why)
		for _, t := range c.modeConditions() {
			c.set(t, Unknown, ReasonNoCluster, why)
		}
		if failed != "" {
			c.ready(False, ReasonApplyFailed, failed)
			return
		}
		c.ready(Unknown, ReasonNoCluster, why)
		return
	}

	pods := c.in.Cluster.Pods(c.st.Namespace, c.st.Name)
	state, provisioned := nodes[c.st.Key()]
	c.st.Nodes = nodeNames(pods, state.Nodes)
	c.st.Endpoint = c.endpoint()
	job := c.live("Job")
	rr := c.resourceReady(state, provisioned, pods, job)

	var work Condition
	if c.st.Mode == "tuning" {
		work = c.tuning(job)
	} else {
		work = c.inference(pods)
	}
	switch {
	case failed != "":
		c.ready(False, ReasonApplyFailed, failed)
	case rr.Status != True:
		c.ready(False, rr.Reason, rr.Message)
	case work.Status != True:
		c.ready(False, cmp.Or(work.Reason, "NotReady"), work.Message)
	default:
		if o := c.unhealthy(); o != nil {
			c.ready(False, "ObjectNotReady", fmt.Sprintf("%s %s is %s: %s", o.Kind, o.Name, o.Health, o.Message))
			return
		}
		msg := "all objects are current"
		if e := c.st.Endpoint; e != nil && e.ClusterIP != "" && c.st.Mode == "inference" {
			msg = fmt.Sprintf("serving at %s:%d", e.ClusterIP, e.Port)
		}
		c.ready(True, "WorkspaceReady", msg)
	}
}

// resourceReady says whether the workspace has its nodes: true once the provisioner says so or
// the scheduler placed every pod (the cluster is live, the provisioner's word is as of the last
// sync); otherwise the provisioner's reason (QuotaExceeded...), else the scheduler's.
func (c *computer) resourceReady(state provision.NodeState, provisioned bool, pods []*unstructured.Unstructured, job *unstructured.Unstructured) Condition {
	if provisioned && state.Ready {
		return c.set(ResourceReady, True, cmp.Or(state.Reason, "NodesReady"), cmp.Or(state.Message, nodesMessage(c.st.Nodes)))
	}
	if c.st.Mode == "tuning" && jobCondition(job, "Complete") {
		return c.set(ResourceReady, True, "NodesReady", "the job ran to completion")
	}
	scheduled := 0
	var unschedulable string
	for _, p := range pods {
		if nodeName(p) != "" {
			scheduled++
			continue
		}
		if msg, ok := podCondition(p, "PodScheduled", "False"); ok && unschedulable == "" {
			unschedulable = msg
		}
	}
	want := max(c.st.NodeCount, 1)
	switch {
	case scheduled >= want:
		// The pods run on nodes now, whatever the provisioner said at the last sync.
		return c.set(ResourceReady, True, "NodesReady", nodesMessage(c.st.Nodes))
	case provisioned:
		return c.set(ResourceReady, False, cmp.Or(state.Reason, "NodesNotReady"), state.Message)
	case unschedulable != "":
		return c.set(ResourceReady, False, "Unschedulable", unschedulable)
	}
	return c.set(ResourceReady, False, "Pending", fmt.Sprintf("%d of %d pods placed on a node", scheduled, want))
}

func (c *computer) inference(pods []*unstructured.Unstructured) Condition {
	var w *unstructured.Unstructured
	for _, kind := range []string{"StatefulSet", "Deployment"} {
		if w = c.live(kind); w != nil {
			break
		}
	}
	if w == nil {
		return c.set(InferenceReady, False, "WorkloadNotFound", "the workload does not exist (yet)")
	}
	h, msg := health(w)
	switch h {
	case HealthCurrent:
		return c.set(InferenceReady, True, "WorkloadReady", msg)
	case HealthFailed:
		return c.set(InferenceReady, False, "WorkloadFailed", joinMsg(msg, podTrouble(pods)))
	case "Terminating":
		return c.set(InferenceReady, False, "Terminating", msg)
	}
	return c.set(InferenceReady, False, "WorkloadNotReady", joinMsg(msg, podTrouble(pods)))
}

func (c *computer) tuning(job *unstructured.Unstructured) Condition {
	if job == nil {
		c.set(JobStarted, False, "JobNotFound", "the job does not exist (yet)")
		return c.set(JobSucceeded, Unknown, "JobNotFound", "the job does not exist (yet)")
	}
	if start, _, _ := unstructured.NestedString(job.Object, "status", "startTime"); start != "" {
		c.set(JobStarted, True, "JobStarted", "started at "+start)
	} else {
		c.set(JobStarted, False, "JobNotStarted", "the job has not started")
	}
	_, msg := health(job)
	switch {
	case jobCondition(job, "Complete"):
		return c.set(JobSucceeded, True, "JobSucceeded", msg)
	case jobCondition(job, "Failed"):
		return c.set(JobSucceeded, False, "JobFailed", msg)
	}
	return c.set(JobSucceeded, Unknown, "JobInProgress", msg)
}

// objects lists what was applied for the workspace with each object's health.
func (c *computer) objects() {
	seen := map[apply.ObjectRef]bool{}
	for _, ch := range c.changes {
		if ch.Action == apply.Deleted || seen[ch.Object] {
			continue
		}
		seen[ch.Object] = true
		o := Object{Kind: ch.Object.Kind, Namespace: ch.Object.Namespace, Name: ch.Object.Name}
		switch {
		case ch.Action == apply.Failed:
			o.Health, o.Message = HealthFailed, errText(ch)
		case c.in.Cluster == nil:
			o.Health = HealthRendered
		case o.Kind == "Secret":
			// Secrets are not read back: kaito-sync needs no read access to them.
			o.Health, o.Message = HealthCurrent, "applied"
		default:
			if live, ok := c.in.Cluster.Get(o.Kind, o.Namespace, o.Name); ok {
				o.Health, o.Message = health(live)
			} else {
				o.Health = HealthNotFound
			}
		}
		c.st.Objects = append(c.st.Objects, o)
	}
	slices.SortFunc(c.st.Objects, func(a, b Object) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
}

func (c *computer) failedChange() string {
	for _, ch := range c.changes {
		if ch.Action == apply.Failed {
			return ch.Object.String() + ": " + errText(ch)
		}
	}
	return ""
}

func errText(ch apply.Change) string {
	if ch.Err != nil {
		return ch.Err.Error()
	}
	return ch.Reason
}

// live returns the workspace's live object of kind that was applied in the last sync.
func (c *computer) live(kind string) *unstructured.Unstructured {
	for _, o := range c.st.Objects {
		if o.Kind == kind {
			if u, ok := c.in.Cluster.Get(kind, o.Namespace, o.Name); ok {
				return u
			}
		}
	}
	return nil
}

// unhealthy returns the first object that is not Current.
func (c *computer) unhealthy() *Object {
	for i, o := range c.st.Objects {
		if o.Health != HealthCurrent {
			return &c.st.Objects[i]
		}
	}
	return nil
}

// endpoint is the workspace's Service (named as the workspace): cluster IP and first port.
func (c *computer) endpoint() *Endpoint {
	svc := c.live("Service")
	for _, o := range c.st.Objects {
		if o.Kind == "Service" && o.Name == c.st.Name {
			svc, _ = c.in.Cluster.Get("Service", o.Namespace, o.Name)
		}
	}
	if svc == nil {
		return nil
	}
	e := &Endpoint{Service: svc.GetName()}
	e.ClusterIP, _, _ = unstructured.NestedString(svc.Object, "spec", "clusterIP")
	if ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports"); len(ports) > 0 {
		if p, ok := ports[0].(map[string]any); ok {
			e.Port, _, _ = unstructured.NestedInt64(p, "port")
		}
	}
	if ing, _, _ := unstructured.NestedSlice(svc.Object, "status", "loadBalancer", "ingress"); len(ing) > 0 {
		if m, ok := ing[0].(map[string]any); ok {
			ip, _ := m["ip"].(string)
			host, _ := m["hostname"].(string)
			e.External = cmp.Or(ip, host)
		}
	}
	return e
}

func nodesMessage(nodes []string) string {
	if len(nodes) == 0 {
		return "nodes are ready"
	}
	return fmt.Sprintf("%d node(s): %s", len(nodes), strings.Join(nodes, ", "))
}

func joinMsg(a, b string) string {
	if b == "" {
		return a
	}
	if a == "" {
		return b
	}
	return a + "; " + b
}
