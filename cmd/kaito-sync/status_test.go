package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/spf13/pflag"

	"github.com/kaito-sync/kaito-sync/status"
	"github.com/kaito-sync/kaito-sync/status/branch"
	"github.com/kaito-sync/kaito-sync/sync/source"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

func statusReport() *status.Report {
	at := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Second)
	c := func(t string, s status.ConditionStatus, reason string) status.Condition {
		return status.Condition{Type: t, Status: s, Reason: reason, Message: reason + " message", LastTransitionTime: at}
	}
	return &status.Report{
		SourceCommit: "0123456789abcdef0123456789abcdef01234567", UpdatedAt: at,
		Workspaces: []*status.WorkspaceStatus{
			{Namespace: "team-a", Name: "phi-3", InstanceType: "Standard_NC6s_v3", Mode: "inference", Created: at,
				Conditions: []status.Condition{c(status.ResourceReady, status.True, "NodesReady"), c(status.InferenceReady, status.True, "WorkloadReady"), c(status.WorkspaceReady, status.True, "WorkspaceReady")}},
			{Namespace: "team-b", Name: "falcon", InstanceType: "Standard_NC96ads_A100_v4", Mode: "inference", Created: at,
				Conditions: []status.Condition{c(status.ResourceReady, status.False, "QuotaExceeded"), c(status.InferenceReady, status.False, "WorkloadNotReady"), c(status.WorkspaceReady, status.False, "QuotaExceeded")}},
		},
	}
}

func statusRepo(t *testing.T) *gitserver.Server {
	t.Helper()
	srv := gitserver.New(t, gitserver.Options{})
	if _, err := srv.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	w := &branch.Writer{URL: srv.RepoURL("fleet"), Branch: "ops-status", Auth: srv.Auth()}
	if _, err := w.Write(context.Background(), statusReport()); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestStatusCommand(t *testing.T) {
	srv := statusRepo(t)
	t.Setenv("KAITO_TEST_TOKEN", srv.Password)
	base := []string{"--repo", srv.RepoURL("fleet"), "--status-branch", "ops-status", "--git-username", srv.User, "--git-token-env", "KAITO_TEST_TOKEN"}
	run := func(args ...string) (string, error) {
		cmd := newStatusCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append(append([]string{}, base...), args...))
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}

	tests := []struct {
		name  string
		args  []string
		check func(is *is.I, out string, err error)
	}{
		{"table like kubectl get workspace", nil, func(is *is.I, out string, err error) {
			is.NoErr(err)
			lines := strings.Split(out, "\n")
			is.Equal(strings.Fields(lines[0]), status.Columns)
			// AGE counts to now: "5m" or "5m1s" depending on when in the second the test runs.
			row1, row2 := strings.Fields(lines[1]), strings.Fields(lines[2])
			is.Equal(row1[:6], []string{"team-a", "phi-3", "Standard_NC6s_v3", "True", "True", "True"})
			is.Equal(row2[:6], []string{"team-b", "falcon", "Standard_NC96ads_A100_v4", "False", "False", "False"})
			is.True(strings.HasPrefix(row1[6], "5m") && strings.HasPrefix(row2[6], "5m"))
			is.True(strings.Contains(out, "team-b/falcon: QuotaExceeded: QuotaExceeded message\n")) // why it fails
		}},
		{"one workspace by name, as JSON", []string{"-o", "json", "falcon"}, func(is *is.I, out string, err error) {
			is.NoErr(err)
			var w status.WorkspaceStatus
			is.NoErr(json.Unmarshal([]byte(out), &w))
			is.Equal(w.Key(), "team-b/falcon")
			is.Equal(w.Condition(status.ResourceReady).Reason, "QuotaExceeded")
		}},
		{"namespace/name as YAML", []string{"-o", "yaml", "team-a/phi-3"}, func(is *is.I, out string, err error) {
			is.NoErr(err)
			is.True(strings.Contains(out, "name: phi-3\n"))
			is.True(strings.Contains(out, "type: WorkspaceReady\n"))
		}},
		{"unknown workspace", []string{"nope"}, func(is *is.I, _ string, err error) {
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), `"nope" not found`))
		}},
		{"unknown output", []string{"-o", "wide"}, func(is *is.I, _ string, err error) { is.True(err != nil) }},
		{"a branch with no statuses", []string{"--status-branch", "nothing-here"}, func(is *is.I, _ string, err error) {
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), "holds no statuses"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.args...)
			tt.check(is.New(t), out, err)
		})
	}
}

func TestStatusFlagsReporter(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	parse := func(args ...string) *statusFlags {
		fs := pflag.NewFlagSet("sync", pflag.ContinueOnError)
		f := addStatusFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f
	}
	tests := []struct {
		name          string
		flags         []string
		repo, branch  string
		wantReporter  bool
		wantErrSubstr string
	}{
		{"off", []string{"--status=false"}, "https://example.com/fleet.git", "main", false, ""},
		{"a local folder without --status-repo", nil, "/tmp/fleet", "main", false, ""},
		{"the synced branch itself", []string{"--status-branch", "main"}, "https://example.com/fleet.git", "main", false, "branch of their own"},
		{"a bad branch name", []string{"--status-branch", "a..b"}, "https://example.com/fleet.git", "main", false, "not a valid branch name"},
		{"a local folder with --status-repo", []string{"--status-repo", "http://127.0.0.1:1/status.git"}, "/tmp/fleet", "main", true, ""},
		{"the default", nil, "http://127.0.0.1:1/fleet.git", "main", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r, err := parse(tt.flags...).reporter(tt.repo, tt.branch, source.AuthOptions{}, nil, log, nil)
			if tt.wantErrSubstr != "" {
				is.True(err != nil)
				is.True(strings.Contains(err.Error(), tt.wantErrSubstr))
				return
			}
			is.NoErr(err)
			is.Equal(r != nil, tt.wantReporter)
		})
	}
}

func TestHostLink(t *testing.T) {
	tests := []struct{ repo, want string }{
		{"https://github.com/org/fleet.git", "https://github.com/org/fleet/blob/abc/ws/a.yaml#L3"},
		{"https://user:token@gitlab.example.com/org/fleet.git", "https://gitlab.example.com/org/fleet/-/blob/abc/ws/a.yaml#L3"},
		{"git@github.com:org/fleet.git", "https://github.com/org/fleet/blob/abc/ws/a.yaml#L3"},
		{"ssh://git@github.com:22/org/fleet.git", "https://github.com/org/fleet/blob/abc/ws/a.yaml#L3"},
		// No credential reaches a link on the status branch: a token as the user, or in the query.
		{"https://ghp_AbCdEf0123456789AbCdEf0123456789AbCd@github.com/org/fleet.git", "https://github.com/org/fleet/blob/abc/ws/a.yaml#L3"},
		{"https://gitlab.example.com/org/fleet.git?private_token=glpat-AbCdEf0123456789xyz", "https://gitlab.example.com/org/fleet/-/blob/abc/ws/a.yaml#L3"},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			is := is.New(t)
			is.Equal(hostLink(tt.repo)("ws/a.yaml", 3, "abc"), tt.want)
		})
	}
}
