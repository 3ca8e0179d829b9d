package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"

	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// TestLogResultNamesWorkspaceAndCommit: every JSON line about a workspace carries its key and the
// source commit, so one workspace can be followed through a log pipeline.
func TestLogResultNamesWorkspaceAndCommit(t *testing.T) {
	is := is.New(t)
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", false)
	is.NoErr(err)
	res := &ksync.Result{
		Commit: "0123456789abcdef0123456789abcdef01234567",
		Set: &workspaces.Set{Problems: workspaces.Problems{{Severity: workspaces.Error, Path: "ws/bad.yaml", Line: 7,
			Workspace: "team-a/bad", Field: "resource.instanceType", Message: "unknown instance type"}}},
		Changes: apply.ChangeSet{Entries: []apply.Change{
			{Object: apply.ObjectRef{Kind: "StatefulSet", Namespace: "team-a", Name: "phi-3"}, Workspace: "team-a/phi-3", Action: apply.Created},
			{Object: apply.ObjectRef{Kind: "Service", Namespace: "team-a", Name: "phi-3"}, Workspace: "team-a/phi-3", Action: apply.Failed, Err: errors.New("forbidden")},
			{Object: apply.ObjectRef{Kind: "Service", Namespace: "team-a", Name: "x"}, Workspace: "team-a/x", Action: apply.Unchanged},
		}},
		RenderErrors: map[string]error{"team-a/llama": errors.New("boom")},
	}
	logResult(log, res, nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	is.Equal(len(lines), 5) // problem, created, failed, render error, summary (unchanged is debug)
	for _, l := range lines {
		var rec map[string]any
		is.NoErr(json.Unmarshal([]byte(l), &rec))
		is.Equal(rec["commit"], "0123456789ab")
		if rec["msg"] != "synced" {
			is.True(strings.HasPrefix(rec["workspace"].(string), "team-a/")) // every workspace line names it
		}
	}
	is.True(strings.Contains(lines[0], `"file":"ws/bad.yaml"`))
	is.True(strings.Contains(lines[0], `"line":7`))
}

func TestLoggerRedactsSecretAttributes(t *testing.T) {
	tests := []struct{ key, value string }{
		{"token", "ghp_abc"}, {"gitPassword", "hunter2"}, {"webhookSecret", "s3cr3t"}, {"Authorization", "Bearer x"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			is := is.New(t)
			for _, format := range []string{"text", "json"} {
				var buf bytes.Buffer
				log, err := newLogger(&buf, format, true)
				is.NoErr(err)
				log.Info("x", tt.key, tt.value)
				is.True(!strings.Contains(buf.String(), tt.value))
				is.True(strings.Contains(buf.String(), "[redacted]"))
			}
		})
	}
	_, err := newLogger(&bytes.Buffer{}, "xml", false)
	if err == nil {
		t.Fatal("an unknown format must be refused")
	}
}
