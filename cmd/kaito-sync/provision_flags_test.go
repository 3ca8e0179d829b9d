package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/spf13/pflag"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kaito-sync/kaito-sync/provision"
	"github.com/kaito-sync/kaito-sync/provision/byo"
)

func TestProvisionFlags(t *testing.T) {
	t.Setenv("ARM_SUBSCRIPTION_ID", "")
	t.Setenv("ARM_RESOURCE_GROUP", "rg-from-env")
	t.Setenv("AZURE_CLUSTER_NAME", "")
	for _, tc := range []struct {
		args    []string
		want    string // type of provisioner, "" for none
		wantErr string
	}{
		{nil, "", ""},
		{[]string{"--provisioner", "byo"}, "byo", ""},
		{[]string{"--provisioner", "aks", "--aks-cluster", "c"}, "", "--aks-subscription-id"},
		{[]string{"--provisioner", "aks", "--aks-subscription-id", "s", "--aks-cluster", "c", "--aks-arm-endpoint", "https://127.0.0.1:1"}, "auto", ""},
		{[]string{"--provisioner", "gcp"}, "", "unknown --provisioner"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			is := is.New(t)
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			f := addProvisionFlags(fs)
			is.NoErr(fs.Parse(tc.args))
			is.Equal(f.resourceGroup, "rg-from-env")
			p, err := f.build(context.Background(), kubefake.NewClientset(), slog.New(slog.DiscardHandler))
			if tc.wantErr != "" {
				is.True(err != nil && strings.Contains(err.Error(), tc.wantErr))
				return
			}
			is.NoErr(err)
			switch tc.want {
			case "":
				is.Equal(p, nil)
			case "byo":
				_, ok := p.(*byo.Provisioner)
				is.True(ok)
			case "auto":
				_, ok := p.(*provision.Auto)
				is.True(ok)
			}
		})
	}
}
