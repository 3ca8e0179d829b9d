package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// statusAt is when the statuses of statusReport changed; the tests read them 5 minutes later.
var statusAt = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func statusCond(t string, s status.ConditionStatus, reason string) status.Condition {
	return status.Condition{Type: t, Status: s, Reason: reason, Message: reason + " message", LastTransitionTime: statusAt}
}

func statusReport() *status.Report {
	c := statusCond
	return &status.Report{
		SourceCommit: "0123456789abcdef0123456789abcdef01234567", UpdatedAt: statusAt,
		Workspaces: []*status.WorkspaceStatus{
			{Namespace: "team-a", Name: "phi-3", InstanceType: "Standard_NC6s_v3", Mode: "inference", Preset: "phi-3-mini-4k-instruct", Created: statusAt,
				NodeCount: 1, Nodes: []string{"aks-phi3-0"}, Endpoint: &status.Endpoint{Service: "phi-3", Port: 80}, Source: status.Source{Path: "ws/phi-3.yaml", Line: 1},
				Conditions: []status.Condition{c(status.ResourceReady, status.True, "NodesReady"), c(status.InferenceReady, status.True, "WorkloadReady"),
					c(status.WorkspaceReady, status.True, "WorkspaceReady"), c(status.WorkspaceSucceeded, status.True, "WorkspaceReady")}},
			{Namespace: "team-a", Name: "tune-phi-3", InstanceType: "Standard_NC24ads_A100_v4", Mode: "tuning", Preset: "phi-3-mini-4k-instruct", Created: statusAt.Add(-2 * time.Hour),
				NodeCount: 1, Source: status.Source{Path: "ws/tune.yaml", Line: 1},
				Conditions: []status.Condition{c(status.ResourceReady, status.True, "NodesReady"), c(status.JobStarted, status.True, "JobStarted"), c(status.JobSucceeded, status.Unknown, "JobInProgress"),
					c(status.WorkspaceReady, status.False, "JobInProgress"), c(status.WorkspaceSucceeded, status.False, "JobInProgress")}},
			{Namespace: "team-b", Name: "falcon", InstanceType: "Standard_NC96ads_A100_v4", Mode: "inference", Preset: "tiiuae/falcon-40b-instruct", Created: statusAt,
				NodeCount: 2, Source: status.Source{Path: "ws/falcon.yaml", Line: 3},
				Conditions: []status.Condition{c(status.ResourceReady, status.False, "QuotaExceeded"), c(status.InferenceReady, status.False, "WorkloadNotReady"),
					c(status.WorkspaceReady, status.False, "QuotaExceeded"), c(status.WorkspaceSucceeded, status.False, "QuotaExceeded")}},
		},
		Problems: workspaces.Problems{
			{Severity: workspaces.Error, Path: "ws/broken.yaml", Line: 2, Col: 1, Message: "invalid YAML: did not find expected key"},
			{Severity: workspaces.Error, Path: "ws/falcon.yaml", Line: 9, Col: 5, Workspace: "team-b/falcon", Field: "resource.count", Message: "a problem of team-b"},
		},
	}
}

func statusRepo(t *testing.T) *gitserver.Server {
	t.Helper()
	srv := gitserver.New(t, gitserver.Options{})
	if _, err := srv.CreateRepo("fleet"); err != nil {
		t.Fatal(err)
	}
	writeStatus(t, srv, statusReport())
	return srv
}

// writeStatus publishes rep on the status branch of srv's fleet repository.
func writeStatus(t *testing.T, srv *gitserver.Server, rep *status.Report) {
	t.Helper()
	w := &branch.Writer{URL: srv.RepoURL("fleet"), Branch: "ops-status", Auth: srv.Auth()}
	if _, err := w.Write(context.Background(), rep); err != nil {
		t.Fatal(err)
	}
}

// statusCLI runs the status command against srv's status branch, reading it 5 minutes after
// statusAt; wait, when set, paces a watch.
func statusCLI(t *testing.T, srv *gitserver.Server, wait func(context.Context) error, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Setenv("KAITO_TEST_TOKEN", srv.Password)
	base := []string{"--repo", srv.RepoURL("fleet"), "--status-branch", "ops-status", "--git-username", srv.User, "--git-token-env", "KAITO_TEST_TOKEN"}
	f := &statusCmdFlags{now: func() time.Time { return statusAt.Add(5 * time.Minute) }, wait: wait}
	cmd := newStatusCmdWith(f)
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(append(append([]string{}, base...), args...))
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestStatusCommand(t *testing.T) {
	srv := statusRepo(t)
	tests := []struct {
		name   string
		args   []string
		golden string // the output, when set
		check  func(is *is.I, out, errOut string, err error)
	}{
		{"table like kubectl get workspace -A, with why it fails", nil, "status.golden", func(is *is.I, out, _ string, err error) {
			is.NoErr(err)
			header := strings.Fields(strings.SplitN(out, "\n", 2)[0])
			is.Equal(header, append([]string{"NAMESPACE"}, status.PrinterColumns...))
			is.True(strings.Contains(out, "team-b/falcon: QuotaExceeded: QuotaExceeded message\n"))
		}},
		{"-A is the default", []string{"-A"}, "status.golden", nil},
		{"-o wide adds columns", []string{"-o", "wide"}, "status-wide.golden", nil},
		{"-n: one namespace, no NAMESPACE column, its problems", []string{"-n", "team-b"}, "status-namespace.golden", func(is *is.I, out, _ string, err error) {
			is.NoErr(err)
			is.True(!strings.Contains(out, "phi-3"))
			is.True(strings.HasPrefix(out, "NAME "))
		}},
		{"--no-headers: the rows alone", []string{"--no-headers"}, "", func(is *is.I, out, _ string, err error) {
			is.NoErr(err)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			is.Equal(len(lines), 3)
			is.True(strings.HasPrefix(lines[0], "team-a   phi-3 "))
			is.True(strings.HasPrefix(lines[2], "team-b   falcon "))
		}},
		{"a namespace with no workspace", []string{"--namespace", "team-z"}, "", func(is *is.I, out, errOut string, err error) {
			is.NoErr(err)
			is.Equal(out, "")
			is.Equal(errOut, "No workspaces found in namespace team-z.\n")
		}},
		{"one workspace by name, as JSON", []string{"-o", "json", "falcon"}, "", func(is *is.I, out, _ string, err error) {
			is.NoErr(err)
			var w status.WorkspaceStatus
			is.NoErr(json.Unmarshal([]byte(out), &w))
			is.Equal(w.Key(), "team-b/falcon")
			is.Equal(w.Condition(status.ResourceReady).Reason, "QuotaExceeded")
		}},
		{"a name in the namespace of -n", []string{"-n", "team-a", "-o", "json", "phi-3"}, "", func(is *is.I, out, _ string, err error) {
			is.NoErr(err)
			var w status.WorkspaceStatus
			is.NoErr(json.Unmarshal([]byte(out), &w))
			is.Equal(w.Key(), "team-a/phi-3")
		}},
		{"-n with JSON: the report of that namespace", []string{"-n", "team-a", "-o", "json"}, "", func(is *is.I, out, _ string, err error) {
			is.NoErr(err)
			var rep status.Report
			is.NoErr(json.Unmarshal([]byte(out), &rep))
			is.Equal(len(rep.Workspaces), 2)
			is.Equal(len(rep.Problems), 1) // the file that does not parse; team-b's problem is not shown
		}},
		{"namespace/name as YAML", []string{"-o", "yaml", "team-a/phi-3"}, "", func(is *is.I, out, _ string, err error) {
			is.NoErr(err)
			is.True(strings.Contains(out, "name: phi-3\n"))
			is.True(strings.Contains(out, "type: WorkspaceReady\n"))
		}},
		{"unknown workspace", []string{"nope"}, "", func(is *is.I, _, _ string, err error) {
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), `"nope" not found`))
		}},
		{"a name not in the namespace of -n", []string{"-n", "team-a", "falcon"}, "", func(is *is.I, _, _ string, err error) {
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), `"falcon" not found in namespace team-a`))
		}},
		{"namespace/name outside -n", []string{"-n", "team-a", "team-b/falcon"}, "", func(is *is.I, _, _ string, err error) {
			isUsage(is, err)
		}},
		{"-A with -n", []string{"-A", "-n", "team-a"}, "", func(is *is.I, _, _ string, err error) { isUsage(is, err) }},
		{"a watch with no interval", []string{"-w", "--interval", "0s"}, "", func(is *is.I, _, _ string, err error) { isUsage(is, err) }},
		{"unknown output", []string{"-o", "xml"}, "", func(is *is.I, _, _ string, err error) { isUsage(is, err) }},
		{"a branch with no statuses", []string{"--status-branch", "nothing-here"}, "", func(is *is.I, _, _ string, err error) {
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), "holds no statuses"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := statusCLI(t, srv, nil, tt.args...)
			if tt.golden != "" {
				is.New(t).NoErr(err)
				checkGolden(t, tt.golden, out)
			}
			if tt.check != nil {
				tt.check(is.New(t), out, errOut, err)
			}
		})
	}
}

func isUsage(is *is.I, err error) {
	is.Helper()
	var ee *exitError
	is.True(errors.As(err, &ee))
	is.Equal(ee.code, exitUsage)
}

func TestStatusSelection(t *testing.T) {
	rep := statusReport()
	twin := *rep.Workspaces[0]
	twin.Namespace = "team-b"
	rep.Workspaces = append(rep.Workspaces, &twin)
	tests := []struct {
		sel     selection
		want    []string
		wantErr string
	}{
		{selection{}, []string{"team-a/phi-3", "team-a/tune-phi-3", "team-b/falcon", "team-b/phi-3"}, ""},
		{selection{namespace: "team-b"}, []string{"team-b/falcon", "team-b/phi-3"}, ""},
		{selection{name: "falcon"}, []string{"team-b/falcon"}, ""},
		{selection{namespace: "team-b", name: "phi-3"}, []string{"team-b/phi-3"}, ""},
		{selection{name: "team-a/phi-3"}, []string{"team-a/phi-3"}, ""},
		{selection{name: "phi-3"}, nil, "is in namespaces team-a, team-b: name one with -n or namespace/name"},
		{selection{namespace: "team-c", name: "phi-3"}, nil, "not found in namespace team-c"},
	}
	for _, tt := range tests {
		t.Run(tt.sel.namespace+"/"+tt.sel.name, func(t *testing.T) {
			is := is.New(t)
			got, err := tt.sel.pick(rep)
			if tt.wantErr != "" {
				is.True(err != nil)
				is.True(strings.Contains(err.Error(), tt.wantErr))
				return
			}
			is.NoErr(err)
			var keys []string
			for _, w := range got {
				keys = append(keys, w.Key())
			}
			is.Equal(keys, tt.want)
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

// falconReady is statusReport a minute later, when team-b/falcon got its quota.
func falconReady() *status.Report {
	rep := statusReport()
	rep.UpdatedAt = rep.UpdatedAt.Add(time.Minute)
	f := rep.Workspaces[2]
	for i := range f.Conditions {
		f.Conditions[i].Status, f.Conditions[i].Reason, f.Conditions[i].Message = status.True, "Ready", ""
		f.Conditions[i].LastTransitionTime = rep.UpdatedAt
	}
	return rep
}

// TestStatusWatchTurns steps a watch through reads, each turn of wait one read, with no sleep.
func TestStatusWatchTurns(t *testing.T) {
	is := is.New(t)
	first := statusReport()
	ready := falconReady()
	later := falconReady() // only when it was computed changed
	later.UpdatedAt = later.UpdatedAt.Add(time.Minute)
	gone := falconReady() // phi-3 left Git
	gone.Workspaces = gone.Workspaces[1:]

	reads := []struct {
		rep *status.Report
		err error
	}{{ready, nil}, {nil, errors.New("connection refused")}, {later, nil}, {gone, nil}}
	var printed [][]string
	turn := 0
	sw := &statusWatch{
		read: func(context.Context) (*status.Report, error) { r := reads[turn-1]; return r.rep, r.err },
		pick: selection{}.keep,
		wait: func(context.Context) error {
			if turn++; turn > len(reads) {
				return context.Canceled // the interrupt
			}
			return nil
		},
		print: func(ws []*status.WorkspaceStatus) error {
			var keys []string
			for _, w := range ws {
				keys = append(keys, w.Key()+"="+string(w.ConditionStatus(status.WorkspaceReady)))
			}
			printed = append(printed, keys)
			return nil
		},
	}
	var errOut bytes.Buffer
	sw.errOut = &errOut
	is.NoErr(sw.run(context.Background(), selection{}.keep(first)))
	is.Equal(printed, [][]string{
		{"team-b/falcon=True"}, // the change, alone
		{"team-a/phi-3=True"},  // removed: its last row once more
	}) // nothing for the failed read, nor for a report that only says more recently the same
	is.Equal(errOut.String(), "error: connection refused (reading again)\n")
}

func TestStatusWatchCommand(t *testing.T) {
	for _, tt := range []struct {
		name, output, golden string
		args                 []string
	}{
		{"table", "table", "status-watch.golden", nil},
		{"one namespace as YAML documents", "yaml", "status-watch-yaml.golden", []string{"-n", "team-b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			srv := statusRepo(t)
			turns := 0
			wait := func(context.Context) error {
				turns++
				switch turns {
				case 1: // falcon gets its quota while the watch waits
					writeStatus(t, srv, falconReady())
					return nil
				case 2: // nothing new
					return nil
				}
				return context.Canceled
			}
			out, _, err := statusCLI(t, srv, wait, append([]string{"-w", "-o", tt.output}, tt.args...)...)
			is.NoErr(err)
			is.Equal(turns, 3)
			checkGolden(t, tt.golden, out)
		})
	}
}
