package main

import "github.com/spf13/cobra"

// completeValues makes the shell complete flag with values (cobra's completion command writes
// the scripts; flags without such a list complete nothing, not file names).
func completeValues(cmd *cobra.Command, flag string, values ...string) {
	if err := cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)); err != nil {
		panic(err) // a flag name that does not exist: a programming error every test run finds
	}
}
