package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/kaito-sync/kaito-sync/presets"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)"
//
// The Dockerfile passes both from build args: its build context has no .git, so Go cannot stamp
// the commit itself.
var (
	version = "dev"
	commit  = ""
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of kaito-sync",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "kaito-sync %s (commit %s, %s), follows Kaito %s\n", version, buildCommit(), runtime.Version(), presets.KaitoVersion)
			return nil
		},
	}
}

// buildCommit is the commit stamped by -ldflags, else the one Go recorded from the checkout it
// built in (go build -buildvcs), else "unknown".
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
