package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// scrape returns the exposition text as Prometheus would read it.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func result(commit string, actions ...apply.Action) *ksync.Result {
	res := &ksync.Result{Commit: commit, CommitTime: time.Unix(1_800_000_000, 0), Started: time.Unix(1_800_000_100, 0),
		Duration: 1500 * time.Millisecond, FetchDuration: 40 * time.Millisecond, Set: &workspaces.Set{}}
	for _, a := range actions {
		res.Changes.Entries = append(res.Changes.Entries, apply.Change{Action: a})
	}
	return res
}

func TestSeriesFollowSyncs(t *testing.T) {
	tests := []struct {
		name    string
		observe func(m *Metrics)
		want    []string // lines that must be in the scrape
		absent  []string
	}{
		{
			name:    "a first sync creating two objects",
			observe: func(m *Metrics) { m.ObserveSync(result("c1", apply.Created, apply.Created), nil) },
			want: []string{
				`kaito_sync_syncs_total{result="success"} 1`,
				`kaito_sync_objects_total{action="created"} 2`,
				`kaito_sync_last_synced_revision_info{revision="c1"} 1`,
				`kaito_sync_last_synced_commit_timestamp_seconds 1.8e+09`,
				`kaito_sync_sync_duration_seconds_count{result="success"} 1`,
				`kaito_sync_git_fetch_duration_seconds_count 1`,
			},
		},
		{
			name: "a second revision replaces the first revision series",
			observe: func(m *Metrics) {
				m.ObserveSync(result("c1", apply.Created), nil)
				m.ObserveSync(result("c2", apply.Configured, apply.Unchanged), nil)
			},
			want:   []string{`kaito_sync_last_synced_revision_info{revision="c2"} 1`, `kaito_sync_objects_total{action="configured"} 1`},
			absent: []string{`revision="c1"`},
		},
		{
			name: "a failed object makes a failed sync",
			observe: func(m *Metrics) {
				m.ObserveSync(result("c1", apply.Failed), nil)
			},
			want: []string{`kaito_sync_syncs_total{result="failed"} 1`, `kaito_sync_objects_total{action="failed"} 1`},
		},
		{
			name: "a fetch failure is counted and leaves the revision alone",
			observe: func(m *Metrics) {
				m.ObserveSync(result("c1"), nil)
				m.ObserveSync(&ksync.Result{FetchErr: errors.New("connection refused"), FetchDuration: time.Second}, errors.New("fetch: connection refused"))
			},
			want: []string{`kaito_sync_git_fetch_failures_total 1`, `kaito_sync_syncs_total{result="error"} 1`,
				`kaito_sync_last_synced_revision_info{revision="c1"} 1`},
		},
		{
			name:    "a sync abandoned at shutdown is not counted",
			observe: func(m *Metrics) { m.ObserveSync(result("c1"), context.Canceled) },
			absent:  []string{`kaito_sync_syncs_total`},
		},
		{
			name: "AKS operations, webhooks, leadership and workspace states",
			observe: func(m *Metrics) {
				m.ObserveAKS("create", 90*time.Second, "")
				m.ObserveAKS("create", time.Second, "QuotaExceeded")
				m.ObserveWebhook("github", "triggered")
				m.ObserveWebhook("", "unauthorized")
				m.SetLeader(true)
				m.ObserveStates(map[string]int{"Ready": 3, "Failing": 1}, []string{"Ready", "InProgress", "Failing", "Unknown"})
			},
			want: []string{
				`kaito_sync_aks_operation_duration_seconds_count{operation="create",result="ok"} 1`,
				`kaito_sync_aks_operation_errors_total{operation="create",reason="QuotaExceeded"} 1`,
				`kaito_sync_webhook_deliveries_total{outcome="triggered",provider="github"} 1`,
				`kaito_sync_webhook_deliveries_total{outcome="unauthorized",provider="unknown"} 1`,
				`kaito_sync_leader 1`,
				`kaito_sync_workspaces{state="Ready"} 3`,
				`kaito_sync_workspaces{state="InProgress"} 0`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			m := New()
			tt.observe(m)
			got := scrape(t, m)
			for _, w := range tt.want {
				is.True(strings.Contains(got, w+"\n")) // want in scrape
			}
			for _, a := range tt.absent {
				is.True(!strings.Contains(got, a)) // must be absent
			}
		})
	}
}

func TestNilMetricsIgnoresEverything(t *testing.T) {
	var m *Metrics
	m.ObserveSync(result("c1"), nil)
	m.ObserveAKS("create", time.Second, "")
	m.ObserveWebhook("github", "triggered")
	m.SetLeader(true)
	m.ObserveStates(nil, nil)
}
