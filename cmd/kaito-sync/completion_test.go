package main

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

// complete asks cobra's hidden __complete command, as the shell scripts of `kaito-sync completion`
// do, and returns the values offered and the directive line.
func complete(t *testing.T, args ...string) (values []string, directive string) {
	t.Helper()
	code, out, errOut := runCLI(append([]string{"__complete"}, args...)...)
	if code != exitOK {
		t.Fatalf("__complete %v: exit %d: %s", args, code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestCompletion(t *testing.T) {
	const noFiles = ":4" // cobra.ShellCompDirectiveNoFileComp
	tests := []struct {
		name string
		args []string
		want []string // nil: check contains instead
		has  string
	}{
		{"sync --target", []string{"sync", "--target", ""}, []string{"cluster", "git", "dir"}, ""},
		{"sync --provisioner", []string{"sync", "--provisioner", ""}, []string{"none", "byo", "aks"}, ""},
		{"status -o", []string{"status", "-o", ""}, []string{"table", "wide", "json", "yaml"}, ""},
		{"status --output=", []string{"status", "--output", "w"}, []string{"table", "wide", "json", "yaml"}, ""}, // the shell keeps those starting with w
		{"presets -o", []string{"presets", "-o", ""}, []string{"table", "json", "yaml"}, ""},
		{"skus -o", []string{"skus", "-o", ""}, []string{"table", "json", "yaml"}, ""},
		{"version -o", []string{"version", "-o", ""}, []string{"json", "yaml"}, ""},
		{"validate -o", []string{"validate", "-o", ""}, []string{"text", "json"}, ""},
		{"render -o", []string{"render", "-o", ""}, []string{"yaml", "json"}, ""},
		{"plan -o", []string{"plan", "-o", ""}, []string{"markdown", "text", "json"}, ""},
		{"presets NAME", []string{"presets", ""}, nil, "microsoft/Phi-4-mini-instruct"},
		{"skus NAME", []string{"skus", ""}, nil, "Standard_NC24ads_A100_v4"},
		{"presets takes one NAME", []string{"presets", "microsoft/phi-4", ""}, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			values, directive := complete(t, tt.args...)
			is.Equal(directive, noFiles) // never file names
			if tt.want != nil {
				is.Equal(values, tt.want)
				return
			}
			found := false
			for _, v := range values {
				found = found || v == tt.has
			}
			is.True(found)
		})
	}
}

// The values completed are those the flags' help names, so the two cannot drift apart.
func TestCompletedValuesAreDocumented(t *testing.T) {
	cmd := newSyncCmd()
	for flag, values := range map[string][]string{"target": syncTargets, "provisioner": provisioners} {
		t.Run(flag, func(t *testing.T) {
			is := is.New(t)
			usage := cmd.Flags().Lookup(flag).Usage
			for _, v := range values {
				is.True(strings.Contains(usage, v)) // a value completed that the help does not name
			}
		})
	}
}
