package main

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

// A --path outside the repository or a --default-namespace that is no namespace name is a usage
// error (exit 2) at start, naming the flag, in every command that has the flag: nothing is read,
// applied or pruned.
func TestInputFlagsAreUsageErrors(t *testing.T) {
	repo := "../../examples/workspaces"
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"sync: --path climbs out", []string{"sync", "--repo", repo, "--once", "--target", "dir", "--out", t.TempDir(), "--path", "../.."}, `--path "../.." leaves the repository`},
		{"sync: --path absolute", []string{"sync", "--repo", repo, "--once", "--target", "dir", "--out", t.TempDir(), "--path", "/etc"}, `--path "/etc" is absolute`},
		{"sync: bad --default-namespace", []string{"sync", "--repo", repo, "--once", "--target", "dir", "--out", t.TempDir(), "--default-namespace", "Team_A"}, `--default-namespace "Team_A" is not a valid name`},
		{"plan: --path climbs out", []string{"plan", "--repo", "../..", "--base", "HEAD", "--head", "HEAD", "--path", "../x"}, `--path "../x" leaves the repository`},
		{"plan: bad --default-namespace", []string{"plan", "--repo", "../..", "--base", "HEAD", "--head", "HEAD", "--default-namespace", "a/b"}, `--default-namespace "a/b" is not a valid name`},
		{"validate: bad --default-namespace", []string{"validate", "--default-namespace", "", repo}, "--default-namespace is empty"},
		{"render: bad --default-namespace", []string{"render", "--default-namespace", "UPPER", repo}, `--default-namespace "UPPER" is not a valid name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			code, out, errOut := runCLI(tt.args...)
			is.Equal(code, exitUsage)
			is.True(strings.Contains(errOut, tt.wantErr))
			is.True(!strings.Contains(out, "synced")) // nothing ran
		})
	}
}

// plan and status warn once, on stderr, when the URL carries credentials, and never print them.
func TestURLCredentialsWarnOnce(t *testing.T) {
	const token = "ghp_AbCdEf0123456789AbCdEf0123456789AbCd"
	tests := []struct {
		name string
		args []string
	}{
		{"plan", []string{"plan", "--repo", "https://" + token + "@127.0.0.1:1/org/fleet.git", "--base", "HEAD~1", "--head", "HEAD"}},
		{"status", []string{"status", "--repo", "https://127.0.0.1:1/org/fleet.git?private_token=" + token}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			code, out, errOut := runCLI(tt.args...)
			is.True(code != exitOK) // nothing listens on port 1
			is.Equal(strings.Count(errOut, "carries credentials"), 1)
			is.True(strings.Contains(errOut, "--git-password-file or --git-token-env"))
			is.True(!strings.Contains(out+errOut, token))
		})
	}
}
