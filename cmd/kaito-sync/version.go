package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

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

// versionInfo is what version -o json|yaml prints.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	// Kaito is the Kaito release whose validation, catalog and workloads kaito-sync follows.
	Kaito string `json:"kaito"`
}

// versionOutputs are the version command's -o values; "" is the line for people.
var versionOutputs = []string{"json", "yaml"}

func newVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kaito-sync",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := versionInfo{Version: version, Commit: buildCommit(), GoVersion: runtime.Version(),
				Platform: runtime.GOOS + "/" + runtime.GOARCH, Kaito: presets.KaitoVersion}
			out := cmd.OutOrStdout()
			switch output {
			case "":
				fmt.Fprintf(out, "kaito-sync %s (commit %s, %s), follows Kaito %s\n", v.Version, v.Commit, v.GoVersion, v.Kaito)
				return nil
			case "json":
				b, err := json.MarshalIndent(v, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(out, "%s\n", b)
				return err
			case "yaml":
				b, err := yaml.Marshal(v)
				if err != nil {
					return err
				}
				_, err = out.Write(b)
				return err
			}
			return usageErrorf("unknown output format %q: use json or yaml", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or yaml (default: one line)")
	completeValues(cmd, "output", versionOutputs...)
	return cmd
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
