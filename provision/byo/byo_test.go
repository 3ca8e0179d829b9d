package byo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/matryer/is"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/provision/byo"
)

func node(name string, ready bool, gpus string, labels map[string]string) *corev1.Node {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	res := corev1.ResourceList{provision.ResourceGPU: resource.MustParse(gpus)}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status:     corev1.NodeStatus{Allocatable: res, Capacity: res, Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}},
	}
}

func TestBringYourOwnNodes(t *testing.T) {
	phi := map[string]string{"apps": "phi"}
	for _, tc := range []struct {
		name     string
		nodes    []runtime.Object
		need     provision.Need
		reason   string
		contains []string
	}{
		{"enough Ready nodes with GPUs",
			[]runtime.Object{node("g1", true, "2", phi), node("g2", true, "2", phi), node("other", true, "8", nil)},
			provision.Need{Count: 2, GPUsPerNode: 2, Labels: phi}, provision.ReasonNodesReady, []string{"g1, g2"}},
		{"none match",
			[]runtime.Object{node("other", true, "8", nil)},
			provision.Need{Count: 1, GPUsPerNode: 1, Labels: phi}, provision.ReasonMissingNodes, []string{"0 matching nodes", "apps=phi"}},
		{"one not Ready",
			[]runtime.Object{node("g1", true, "1", phi), node("g2", false, "1", phi)},
			provision.Need{Count: 2, GPUsPerNode: 1, Labels: phi}, provision.ReasonNodesNotReady, []string{"not Ready: g2"}},
		{"too few GPUs",
			[]runtime.Object{node("g1", true, "1", phi)},
			provision.Need{Count: 1, GPUsPerNode: 2, Labels: phi}, provision.ReasonInsufficientGPU, []string{"g1 (1 of 2)"}},
		{"preferred node missing",
			[]runtime.Object{node("g1", true, "1", phi)},
			provision.Need{Count: 2, GPUsPerNode: 1, Labels: phi, PreferredNodes: []string{"g1", "g9"}}, provision.ReasonMissingNodes, []string{"missing: g9"}},
		{"preferred node without the labels",
			[]runtime.Object{node("g1", true, "1", phi), node("g2", true, "1", nil)},
			provision.Need{Count: 2, GPUsPerNode: 1, Labels: phi, PreferredNodes: []string{"g1", "g2"}}, provision.ReasonMissingNodes, []string{"without the labels apps=phi: [g2]"}},
		{"no selector at all",
			nil, provision.Need{Workspace: "ns/w", Count: 1}, provision.ReasonMissingNodes, []string{"no labelSelector"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			p := byo.New(kubefake.NewClientset(tc.nodes...))
			st, err := p.Ensure(context.Background(), tc.need)
			is.NoErr(err)
			is.Equal(st.Reason, tc.reason)
			is.Equal(st.Ready, tc.reason == provision.ReasonNodesReady)
			for _, s := range tc.contains {
				if !strings.Contains(st.Message, s) {
					t.Errorf("message %q lacks %q", st.Message, s)
				}
			}
		})
	}
}
