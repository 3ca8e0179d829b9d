package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "kaito-sync",
		Short:         "Run Kaito AI workspaces on Kubernetes from Git, with no operator in the cluster",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newValidateCmd(),
		newSyncCmd(),
		newRenderCmd(),
		newStatusCmd(),
		newPlanCmd(),
		newPresetsCmd(),
		newSKUsCmd(),
		newVersionCmd(),
	)
	return root
}
