package metrics

import (
	"context"
	"errors"

	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
)

var actions = []apply.Action{apply.Created, apply.Configured, apply.Recreated, apply.Unchanged,
	apply.Deleted, apply.Skipped, apply.Failed}

// ObserveSync records the outcome of one sync. A sync cut short by shutdown is not counted: it
// says nothing about Git or the cluster.
func (m *Metrics) ObserveSync(res *ksync.Result, err error) {
	if m == nil || res == nil || errors.Is(err, context.Canceled) {
		return
	}
	if res.FetchDuration > 0 || res.FetchErr != nil {
		m.fetchDuration.Observe(res.FetchDuration.Seconds())
	}
	if res.FetchErr != nil {
		m.fetchFailures.Inc()
	}
	result := "success"
	switch {
	case err != nil:
		result = "error"
	case res.Failed():
		result = "failed"
	}
	m.syncs.WithLabelValues(result).Inc()
	m.syncDuration.WithLabelValues(result).Observe(res.Duration.Seconds())
	for _, a := range actions {
		if n := res.Changes.Count(a); n > 0 {
			m.objects.WithLabelValues(string(a)).Add(float64(n))
		}
	}
	if res.Set == nil {
		return // nothing was loaded: the revision and the workspaces are what they were
	}
	m.invalid.Set(float64(len(res.Set.Workspaces) - len(res.Set.Valid())))
	m.lastSync.Set(float64(res.Started.Add(res.Duration).Unix()))
	if !res.CommitTime.IsZero() {
		m.lastCommitTime.Set(float64(res.CommitTime.Unix()))
	}
	if res.Commit != "" {
		m.revision.Reset()
		m.revision.WithLabelValues(res.Commit).Set(1)
	}
}
