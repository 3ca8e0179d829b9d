package main

import "github.com/spf13/cobra"

// completeValues makes the shell complete flag with values (cobra's completion command writes
// the scripts; flags without such a list complete nothing, not file names).
func completeValues(cmd *cobra.Command, flag string, values ...string) {
	if err := cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)); err != nil {
		panic(err) // a flag name that does not exist: a programming error every test run finds
	}
}

// syncTargets and provisioners are the values of sync's --target and --provisioner.
var (
	syncTargets  = []string{"cluster", "git", "dir"}
	provisioners = []string{"none", "byo", "aks"}
)

// completeSyncFlags completes the sync command's flags that take one of a few values.
func completeSyncFlags(cmd *cobra.Command) {
	completeValues(cmd, "target", syncTargets...)
	completeValues(cmd, "provisioner", provisioners...)
}
