package provision_test

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/provision/aks"
	"github.com/kaito-sync/kaito-sync/provision/aks/akstest"
	"github.com/kaito-sync/kaito-sync/provision/byo"
)

// Nodes the user already has are used without a cloud call; a workspace without them gets a pool.
func TestAutoPrefersNodesThatAreThere(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	gpu := corev1.ResourceList{provision.ResourceGPU: resource.MustParse("1")}
	kube := kubefake.NewClientset(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "mine", Labels: map[string]string{"apps": "phi"}},
		Status:     corev1.NodeStatus{Allocatable: gpu, Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	})
	srv := akstest.New(t, akstest.Options{})
	cloud, err := aks.New(ctx, aks.Config{SubscriptionID: "s", ResourceGroup: "rg", Cluster: "c",
		Credential: srv.Credential(), ClientOptions: srv.ClientOptions(), PollInterval: time.Millisecond}, kube)
	is.NoErr(err)
	p := &provision.Auto{Own: byo.New(kube), Cloud: cloud}

	st, err := p.Ensure(ctx, provision.Need{Workspace: "a/phi", InstanceType: "Standard_NC6s_v3", Count: 1, GPUsPerNode: 1, Labels: map[string]string{"apps": "phi"}})
	is.NoErr(err)
	is.True(st.Ready)
	is.Equal(st.Nodes, []string{"mine"})
	is.Equal(srv.Calls("BeginCreateOrUpdate"), 0)

	st, err = p.Ensure(ctx, provision.Need{Workspace: "a/llama", InstanceType: "Standard_NC24ads_A100_v4", Count: 1, GPUsPerNode: 1, Labels: map[string]string{"apps": "llama"}})
	is.NoErr(err)
	is.Equal(st.Reason, provision.ReasonProvisioning)
	err = wait.PollUntilContextTimeout(ctx, time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		held, err := p.List(ctx)
		return err == nil && len(held) == 1 && held[0] == "a/llama", nil
	})
	is.NoErr(err) // the pool is listed, for garbage collection
	is.Equal(srv.Calls("BeginCreateOrUpdate"), 1)
}
