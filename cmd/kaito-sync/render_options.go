package main

import (
	"context"
	"log/slog"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kaito-sync/kaito-sync/render"
)

// localNVMeStorageClass is the StorageClass Kaito's chart installs for weights on local NVMe disks.
const localNVMeStorageClass = "kaito-local-nvme-disk"

// renderOptions says what the sync's cluster has of what Kaito sets up. Only nodes kaito-sync's AKS
// provisioner makes carry the kaito.sh/workspace labels Kaito's pods require; and Kaito puts the
// weights on local NVMe only when its chart's StorageClass exists. Hydrate targets render as Kaito
// would (their cluster is not known).
func (f *syncFlags) renderOptions(ctx context.Context, cfg *rest.Config, log *slog.Logger) (render.Options, error) {
	if f.target != "cluster" {
		return render.KaitoDefaults, nil
	}
	opts := render.Options{ProvisionedNodeLabels: f.provision != nil && f.provision.provisioner == "aks"}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return opts, err
	}
	_, err = kube.StorageV1().StorageClasses().Get(ctx, localNVMeStorageClass, metav1.GetOptions{})
	switch {
	case err == nil:
		opts.LocalNVMe = true
	case apierrors.IsNotFound(err):
		log.Info("no StorageClass " + localNVMeStorageClass + ": model weights go to an emptyDir on every SKU, as Kaito does without it")
	default:
		log.Warn("cannot read StorageClass "+localNVMeStorageClass+": model weights go to an emptyDir", "err", err)
	}
	return opts, nil
}
