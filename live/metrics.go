package live

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	eval       prometheus.Histogram
	age        prometheus.Histogram
	alerts     prometheus.Counter
	rules      prometheus.Gauge
	rate       prometheus.Gauge
	partitions prometheus.Gauge

	ruleIndexBuilds prometheus.Counter

	backfillsRunning prometheus.Gauge
	backfillsDone    prometheus.Counter
	backfillFailures prometheus.Counter

	snapshots        prometheus.Counter
	snapshotFailures prometheus.Counter
	snapshotBytes    prometheus.Histogram
	restores         prometheus.Counter
	restoreFailures  prometheus.Counter

	// limit is each limit's configured value, limitReached how often requests reached
	// it (server.go); httpConns the HTTP connections held now.
	limit        *prometheus.GaugeVec
	limitReached *prometheus.CounterVec
	httpConns    prometheus.Gauge
	heavyRunning prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		eval: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hindsight_eval_seconds",
			Help:    "Time to decode one event, match it against the active rules and update its counters.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10), // 1µs … 262ms
		}),
		age: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hindsight_event_age_seconds",
			Help:    "Event timestamp to the end of its evaluation: ingest delay as the evaluator sees it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms … 16s
		}),
		alerts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hindsight_alerts_total", Help: "Alerts raised (threshold crossings)."}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hindsight_rules_active", Help: "Active rules."}),
		rate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hindsight_events_per_second", Help: "Events read per second, over the last second."}),
		partitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hindsight_partitions_owned", Help: "Events partitions owned by this instance."}),
	}
	m.ruleIndexBuilds = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hindsight_rule_index_builds_total", Help: "Rebuilds of the rule index the evaluator matches with (one per fetch of changed controls, not one per control)."})
	m.backfillsRunning = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hindsight_backfills_running", Help: "Hand-off backfill jobs running or waiting to run."})
	m.backfillsDone = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hindsight_backfills_completed_total", Help: "Hand-off backfill jobs whose counts were added."})
	m.backfillFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hindsight_backfill_failures_total", Help: "Failed attempts of hand-off backfill jobs (each is retried)."})
	m.snapshots = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hindsight_snapshots_total", Help: "Partition state snapshots stored."})
	m.snapshotFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hindsight_snapshot_failures_total", Help: "Partition state snapshots that could not be stored (retried at the next interval)."})
	m.snapshotBytes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "hindsight_snapshot_bytes", Help: "Size of stored partition state snapshots.",
		Buckets: prometheus.ExponentialBuckets(256, 4, 12)}) // 256 B … 1 GiB
	m.restores = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hindsight_snapshot_restores_total", Help: "Partitions whose state was restored from a snapshot."})
	m.restoreFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hindsight_snapshot_restore_failures_total", Help: "Partitions whose snapshots could not be read (their counts were rebuilt from history)."})
	m.limit = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hindsight_limit", Help: "Configured value of each limit (README.md, \"Limits\"); durations in seconds, sizes in bytes."}, []string{"name"})
	m.limitReached = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hindsight_limit_reached_total", Help: "Times a request reached a limit (refused, cut short or made to wait), by limit."}, []string{"name"})
	m.httpConns = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hindsight_http_connections_open", Help: "HTTP connections held by the server (at most hindsight_limit{name=\"http_max_connections\"})."})
	m.heavyRunning = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hindsight_http_heavy_requests_running", Help: "Counts listings and previews running (at most hindsight_limit{name=\"http_max_heavy_requests\"})."})
	reg.MustRegister(m.limit, m.limitReached, m.httpConns, m.heavyRunning)
	reg.MustRegister(m.snapshots, m.snapshotFailures, m.snapshotBytes, m.restores, m.restoreFailures)
	reg.MustRegister(m.eval, m.age, m.alerts, m.rules, m.rate, m.partitions, m.backfillsRunning, m.backfillsDone, m.backfillFailures, m.ruleIndexBuilds)
	return m
}
