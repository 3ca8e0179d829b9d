package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/provision/aks"
	"github.com/kaito-sync/kaito-sync/provision/byo"
)

// provisionFlags choose where GPU nodes come from.
type provisionFlags struct {
	provisioner   string
	subscription  string
	resourceGroup string
	cluster       string
	armEndpoint   string
	pollInterval  time.Duration
	// root is the sync root the pools are tagged with; set by the sync command.
	root string
	// observe sees every finished agent pool operation (metrics); set by the sync command.
	observe func(op string, elapsed time.Duration, reason string)
}

func addProvisionFlags(fs *pflag.FlagSet) *provisionFlags {
	f := &provisionFlags{}
	fs.StringVar(&f.provisioner, "provisioner", "none",
		"where GPU nodes come from: none (use the cluster's nodes as they are), byo (check the nodes matching each workspace's labelSelector or preferredNodes), "+
			"aks (one AKS agent pool per workspace, unless enough matching nodes are already Ready)")
	fs.StringVar(&f.subscription, "aks-subscription-id", os.Getenv("ARM_SUBSCRIPTION_ID"), "Azure subscription of the AKS cluster (env ARM_SUBSCRIPTION_ID)")
	fs.StringVar(&f.resourceGroup, "aks-resource-group", os.Getenv("ARM_RESOURCE_GROUP"), "resource group of the AKS cluster (env ARM_RESOURCE_GROUP)")
	fs.StringVar(&f.cluster, "aks-cluster", os.Getenv("AZURE_CLUSTER_NAME"), "name of the AKS cluster (env AZURE_CLUSTER_NAME)")
	fs.StringVar(&f.armEndpoint, "aks-arm-endpoint", "", "Azure Resource Manager URL, for sovereign clouds and tests (default: public Azure)")
	fs.DurationVar(&f.pollInterval, "aks-poll-interval", 10*time.Second, "how often a running agent pool operation is polled")
	return f
}

// build returns the provisioner the flags ask for, or nil for none. Credentials come from
// azidentity.DefaultAzureCredential: environment, workload identity, managed identity, Azure CLI.
// ctx bounds the background agent pool operations.
func (f *provisionFlags) build(ctx context.Context, kube kubernetes.Interface, log *slog.Logger) (provision.Provisioner, error) {
	switch f.provisioner {
	case "", "none":
		return nil, nil
	case "byo":
		if kube == nil {
			return nil, usageErrorf("--provisioner byo needs a cluster (--kubeconfig)")
		}
		return byo.New(kube), nil
	case "aks":
	default:
		return nil, usageErrorf("unknown --provisioner %q: use none, byo or aks", f.provisioner)
	}
	if kube == nil {
		return nil, usageErrorf("--provisioner aks needs a cluster (--kubeconfig) to see the pools' nodes")
	}
	for flag, v := range map[string]string{"--aks-subscription-id": f.subscription, "--aks-resource-group": f.resourceGroup, "--aks-cluster": f.cluster} {
		if v == "" {
			return nil, usageErrorf("--provisioner aks needs %s", flag)
		}
	}
	opts := &arm.ClientOptions{}
	if f.armEndpoint != "" {
		opts.Cloud = cloud.Configuration{
			ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
			Services:                     map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: f.armEndpoint, Audience: cloud.AzurePublic.Services[cloud.ResourceManager].Audience}},
		}
	}
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: policy.ClientOptions{Cloud: opts.Cloud}})
	if err != nil {
		return nil, fmt.Errorf("azure credential: %w", err)
	}
	pools, err := aks.New(ctx, aks.Config{
		SubscriptionID: f.subscription, ResourceGroup: f.resourceGroup, Cluster: f.cluster,
		Credential: cred, ClientOptions: opts, PollInterval: f.pollInterval, Logger: log, Root: f.root, Observe: f.observe,
	}, kube)
	if err != nil {
		return nil, err
	}
	return &provision.Auto{Own: byo.New(kube), Cloud: pools}, nil
}
