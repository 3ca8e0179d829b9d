package provision_test

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/provision/aks"
	"github.com/kaito-sync/kaito-sync/provision/aks/akstest"
	"github.com/kaito-sync/kaito-sync/provision/byo"
)

// A dry run never creates, scales or deletes an agent pool, and still lists the pools a real sync
// would release.
func TestDryRunAsksNothingOfTheCloud(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	kube := kubefake.NewClientset()
	srv := akstest.New(t, akstest.Options{})
	cloud, err := aks.New(ctx, aks.Config{SubscriptionID: "s", ResourceGroup: "rg", Cluster: "c",
		Credential: srv.Credential(), ClientOptions: srv.ClientOptions(), PollInterval: time.Millisecond}, kube)
	is.NoErr(err)
	p := provision.DryRun{P: &provision.Auto{Own: byo.New(kube), Cloud: cloud}}

	st, err := p.Ensure(ctx, provision.Need{Workspace: "a/llama", InstanceType: "Standard_NC24ads_A100_v4", Count: 2, GPUsPerNode: 1})
	is.NoErr(err)
	is.Equal(st.Reason, "DryRun")
	is.Equal(st.Message, "dry run: would ensure 2 × Standard_NC24ads_A100_v4")
	is.NoErr(p.Release(ctx, "a/other"))
	_, err = p.List(ctx)
	is.NoErr(err)
	is.Equal(srv.Calls("BeginCreateOrUpdate"), 0)
	is.Equal(srv.Calls("BeginDelete"), 0)
}
