// Package byo checks nodes the user brings: no cloud calls, only the cluster's view of the nodes
// that match a workspace's labelSelector or are named in its preferredNodes.
package byo

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kaito-sync/kaito-sync/provision"
)

// Provisioner reports on existing nodes; it creates and deletes nothing.
type Provisioner struct {
	Kube kubernetes.Interface
}

// New returns a bring-your-own-nodes provisioner.
func New(kube kubernetes.Interface) *Provisioner { return &Provisioner{Kube: kube} }

// Ensure implements provision.Provisioner. Preferred nodes, when named, are the nodes to use (and
// must still carry the labels, as Kaito requires); otherwise any node matching the labels will do.
func (p *Provisioner) Ensure(ctx context.Context, need provision.Need) (provision.NodeState, error) {
	sel := labels.SelectorFromSet(need.Labels)
	if len(need.PreferredNodes) == 0 {
		if len(need.Labels) == 0 {
			return provision.NodeState{Reason: provision.ReasonMissingNodes,
				Message: "workspace " + need.Workspace + ": no labelSelector.matchLabels and no preferredNodes: cannot tell which nodes are its own"}, nil
		}
		list, err := p.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return provision.NodeState{}, fmt.Errorf("nodes %s: list: %w", sel, err)
		}
		st := provision.Assess(list.Items, need, nil)
		st.Message = fmt.Sprintf("nodes labelled %s: %s", sel, st.Message)
		return st, nil
	}
	var nodes []corev1.Node
	var unlabelled []string
	for _, name := range need.PreferredNodes {
		n, err := p.Kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			continue // Assess names it missing
		case err != nil:
			return provision.NodeState{}, fmt.Errorf("node %s: get: %w", name, err)
		case !sel.Matches(labels.Set(n.Labels)):
			unlabelled = append(unlabelled, name)
			continue
		}
		nodes = append(nodes, *n)
	}
	var expected []string
	for _, name := range need.PreferredNodes {
		if !slices.Contains(unlabelled, name) {
			expected = append(expected, name)
		}
	}
	st := provision.Assess(nodes, need, expected)
	if len(unlabelled) > 0 && !st.Ready {
		st.Reason = provision.ReasonMissingNodes
		st.Message += fmt.Sprintf("; preferred nodes without the labels %s: %v", sel, unlabelled)
	}
	return st, nil
}

// Release implements provision.Provisioner: the user's nodes are the user's to keep.
func (p *Provisioner) Release(context.Context, string) error { return nil }

// List implements provision.Provisioner: this provisioner holds nothing.
func (p *Provisioner) List(context.Context) ([]string, error) { return nil, nil }
