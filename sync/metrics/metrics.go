// Package metrics exports what kaito-sync does as Prometheus series: syncs, objects, workspaces,
// Git fetches, AKS operations, webhook deliveries and leadership. It reads outcomes the other
// packages already produce (sync.Result, status counts) and offers plain callbacks to those that
// run on their own (the AKS provisioner, the webhook), so none of them imports Prometheus.
//
// Labels are closed sets (an action, a state, an operation, a reason) or the one synced revision:
// never a URL, a token or a workspace name, so no secret and no unbounded cardinality reaches the
// scrape.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "kaito_sync"

// Metrics holds kaito-sync's series in a registry of its own (not the global one), so tests can
// build as many as they like and a scrape shows exactly these plus the Go and process collectors.
type Metrics struct {
	reg *prometheus.Registry

	syncs          *prometheus.CounterVec
	syncDuration   *prometheus.HistogramVec
	lastSync       prometheus.Gauge
	lastCommitTime prometheus.Gauge
	revision       *prometheus.GaugeVec
	objects        *prometheus.CounterVec
	workspaces     *prometheus.GaugeVec
	invalid        prometheus.Gauge
	fetchDuration  prometheus.Histogram
	fetchFailures  prometheus.Counter
	aksDuration    *prometheus.HistogramVec
	aksErrors      *prometheus.CounterVec
	webhooks       *prometheus.CounterVec
	leader         prometheus.Gauge
}

// New registers every series.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "syncs_total",
			Help: "Syncs run, by result: success, failed (something in the sync failed) or error (the sync stopped early)."},
			[]string{"result"}),
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "sync_duration_seconds",
			Help:    "Time of one sync: fetch, load, render, provision, apply and prune.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}},
			[]string{"result"}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "last_sync_timestamp_seconds",
			Help: "When the last sync that loaded a revision ended (Unix time)."}),
		lastCommitTime: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "last_synced_commit_timestamp_seconds",
			Help: "Commit time of the last revision synced (Unix time); now minus this is how far the cluster lags Git."}),
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "last_synced_revision_info",
			Help: "1 for the revision (commit) last synced; one series at a time."}, []string{"revision"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "objects_total",
			Help: "Objects handled by syncs, by action: created, configured, recreated, unchanged, deleted, skipped, failed."},
			[]string{"action"}),
		workspaces: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "workspaces",
			Help: "Workspaces by state: Ready, InProgress, Failing, Unknown (as on the status branch)."}, []string{"state"}),
		invalid: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "invalid_workspaces",
			Help: "Workspaces declared in Git that failed validation at the last sync."}),
		fetchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "git_fetch_duration_seconds",
			Help: "Time to fetch the synced branch.", Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}}),
		fetchFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "git_fetch_failures_total",
			Help: "Fetches of the synced branch that failed."}),
		aksDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "aks_operation_duration_seconds",
			Help:    "AKS agent pool operations from start to end, by operation and result (ok or error).",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800}}, []string{"operation", "result"}),
		aksErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "aks_operation_errors_total",
			Help: "AKS agent pool operations that failed, by operation and reason (QuotaExceeded, Throttled, ...)."},
			[]string{"operation", "reason"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "webhook_deliveries_total",
			Help: "Push webhook deliveries, by provider and outcome (triggered, ignored, unauthorized, too-large, bad-request)."},
			[]string{"provider", "outcome"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "leader",
			Help: "1 while this process holds the leader Lease (or runs without leader election), else 0."}),
	}
	m.reg.MustRegister(m.syncs, m.syncDuration, m.lastSync, m.lastCommitTime, m.revision, m.objects,
		m.workspaces, m.invalid, m.fetchDuration, m.fetchFailures, m.aksDuration, m.aksErrors, m.webhooks, m.leader,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveAKS records one finished agent pool operation; reason is "" when it succeeded. It fits
// aks.Config.Observe.
func (m *Metrics) ObserveAKS(op string, elapsed time.Duration, reason string) {
	if m == nil {
		return
	}
	result := "ok"
	if reason != "" {
		result = "error"
		m.aksErrors.WithLabelValues(op, reason).Inc()
	}
	m.aksDuration.WithLabelValues(op, result).Observe(elapsed.Seconds())
}

// ObserveWebhook records one delivery. It fits trigger.Webhook.Observe.
func (m *Metrics) ObserveWebhook(provider, outcome string) {
	if m == nil {
		return
	}
	if provider == "" {
		provider = "unknown"
	}
	m.webhooks.WithLabelValues(provider, outcome).Inc()
}

// SetLeader records whether this process leads.
func (m *Metrics) SetLeader(leading bool) {
	if m == nil {
		return
	}
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.Set(v)
}

// ObserveStates records the workspaces per state of the last report published (status.Report.Counts).
func (m *Metrics) ObserveStates(counts map[string]int, states []string) {
	if m == nil {
		return
	}
	for _, s := range states {
		m.workspaces.WithLabelValues(s).Set(float64(counts[s]))
	}
}
