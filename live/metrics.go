package live

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/limitmetric"
	"github.com/hindsightdev/hindsight/window"
)

type metrics struct {
	eval prometheus.Histogram
	age  prometheus.Histogram
	// futureStamped counts the timed events age leaves out: stamped after their
	// evaluation ended.
	futureStamped prometheus.Counter
	alerts        prometheus.Counter
	// alertsResolved counts resolved records, which alerts does not.
	alertsResolved prometheus.Counter
	rules          prometheus.Gauge
	rate           prometheus.Gauge
	partitions     prometheus.Gauge

	ruleIndexBuilds prometheus.Counter
	evalCutShort    prometheus.Counter

	backfillsRunning prometheus.Gauge
	backfillsDone    prometheus.Counter
	backfillFailures prometheus.Counter

	snapshots        prometheus.Counter
	snapshotFailures prometheus.Counter
	snapshotStall    prometheus.Histogram
	snapshotBytes    prometheus.Histogram
	restores         prometheus.Counter
	restoreFailures  prometheus.Counter
	snapshotsSkipped prometheus.Counter
	// snapshotsDeferred: interval snapshots not tried, the partition's last refused for
	// its size (refusedForSize).
	snapshotsDeferred prometheus.Counter
	// snapshotTempsRemoved: temporaries of snapshot writes cut short, deleted.
	snapshotTempsRemoved prometheus.Counter

	// limits are the limits' values and reaches (server.go shows the HTTP ones); the
	// embedded archiver reports its own into them. httpConns is the HTTP connections
	// held now.
	limits       *limitmetric.Limits
	httpConns    prometheus.Gauge
	heavyRunning prometheus.Gauge
	streamsOpen  prometheus.Gauge

	// typedPaths are the paths the embedded archiver types now, typedPathsOver those
	// left out by --lake-max-columns.
	typedPaths     prometheus.Gauge
	typedPathsOver prometheus.Gauge

	// Per rule (SCOPE/ID), for rules kept per group and window (package window).
	timeErrors  *prometheus.CounterVec
	lateEvents  *prometheus.CounterVec
	windowDrops *prometheus.CounterVec
	suppressed  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		eval: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hindsight_eval_seconds",
			Help:    "Time to decode one event, match it against the active rules and update its counters; one event in 16 is timed.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10), // 1µs … 262ms
		}),
		age: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hindsight_event_age_seconds",
			Help:    "Event timestamp to the end of its evaluation: ingest delay as the evaluator sees it; one event in 16 is timed.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms … 16s
		}),
		futureStamped:  newCounter("hindsight_events_future_stamped_total", "Timed events (one in 16, as hindsight_event_age_seconds) stamped after the end of their evaluation: a producer clock ahead of this one. Not observed in hindsight_event_age_seconds, which has no negative ages."),
		alerts:         newCounter("hindsight_alerts_total", "Alerts raised (threshold crossings): firing records; resolved records are hindsight_alerts_resolved_total."),
		alertsResolved: newCounter("hindsight_alerts_resolved_total", "Resolved records sent (rule alert.resolve, or a rule version ending): each ends an alert hindsight_alerts_total counted."),
		rules:          newGauge("hindsight_rules_active", "Active rules."),
		rate:           newGauge("hindsight_events_per_second", "Events read per second, over the last second."),
		partitions:     newGauge("hindsight_partitions_owned", "Events partitions owned by this instance."),

		ruleIndexBuilds: newCounter("hindsight_rule_index_builds_total", "Rule indexes published to the evaluator: one per fetch of controls that changed the active rules, not one per control."),
		evalCutShort:    newCounter("hindsight_eval_budget_exceeded_total", "Evaluations of rule paths that ran out of their work budget (--max-rule-eval-work node visits plus 64 per node of the event): each result was cut short, so a rule may not have counted its event. An event counts once per evaluation cut short: a path shared by rules is evaluated once, and a hand-off evaluates the events it adds again."),

		backfillsRunning: newGauge("hindsight_backfills_running", "Hand-off backfill jobs running or waiting to run."),
		backfillsDone:    newCounter("hindsight_backfills_completed_total", "Hand-off backfill jobs whose counts were added."),
		backfillFailures: newCounter("hindsight_backfill_failures_total", "Failed attempts of hand-off backfill jobs (each is retried)."),

		snapshots:        newCounter("hindsight_snapshots_total", "Partition state snapshots stored."),
		snapshotFailures: newCounter("hindsight_snapshot_failures_total", "Partition state snapshots that could not be stored (retried at the next interval; one refused for its size on a doubling schedule, hindsight_snapshots_deferred_total; a revoke's or the stop's, held back while an ended version's replay runs too, is not retried: the next owner restores the previous snapshot)."),
		snapshotStall: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hindsight_snapshot_stall_seconds",
			Help:    "How long a snapshot holds its partition's events back: writing the rules, copying the window states and freezing the counters, which are encoded after.",
			Buckets: prometheus.ExponentialBuckets(1e-5, 4, 10), // 10µs … 2.6s
		}),
		snapshotBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hindsight_snapshot_bytes", Help: "Size of stored partition state snapshots.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 12)}), // 256 B … 1 GiB
		restores:             newCounter("hindsight_snapshot_restores_total", "Partitions whose state was restored from a snapshot."),
		restoreFailures:      newCounter("hindsight_snapshot_restore_failures_total", "Partitions whose snapshots could not be read (their counts were rebuilt from history)."),
		snapshotTempsRemoved: newCounter("hindsight_snapshot_temps_removed_total", "Temporaries a snapshot write killed mid-write left in a file:// state store, unwritten for an hour, deleted."),
		snapshotsDeferred:    newCounter("hindsight_snapshots_deferred_total", "Interval snapshots of a partition not tried: its last was refused for its size (--max-snapshot-bytes), and the next attempt waits, doubling from --snapshot-interval up to 16 times it."),
		snapshotsSkipped:     newCounter("hindsight_snapshot_skipped_total", "Snapshots a restore could not use (unreadable, damaged, not fitting the log) and skipped for an older one of the partition, whose events since are evaluated again."),

		limits:         limitmetric.New(),
		httpConns:      newGauge("hindsight_http_connections_open", "HTTP connections held by the server (at most hindsight_limit{name=\"http_max_connections\"})."),
		typedPaths:     newGauge("hindsight_lake_typed_paths", "JSONPaths the embedded archiver writes typed columns for: those the active rules read, and --lake-columns."),
		typedPathsOver: newGauge("hindsight_lake_typed_paths_over_limit", "Paths the active rules read that --lake-max-columns left untyped (history reads them from the JSON payload)."),
		heavyRunning:   newGauge("hindsight_http_heavy_requests_running", "Rule, counts and windows listings, previews and backtests running (at most hindsight_limit{name=\"http_max_heavy_requests\"})."),
		streamsOpen:    newGauge("hindsight_http_streams_open", "Console live streams open (at most hindsight_limit{name=\"http_max_streams\"})."),
	}
	m.timeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_event_time_errors_total",
		Help: "Matched events of a windowed rule whose time path selected no RFC 3339 text or epoch milliseconds: not counted."}, []string{"rule"})
	m.lateEvents = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_late_events_total",
		Help: "Matched events of a windowed rule older than its partition's watermark (newest event time minus lateness): not counted."}, []string{"rule"})
	m.windowDrops = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_window_limit_drops_total",
		Help: "Contributions a rule's state did not keep, by limit (max_groups, max_distinct, max_key_bytes; max_counters for running totals) or overflow (sum): the rule is degraded."}, []string{"rule", "limit"})
	m.suppressed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_alerts_suppressed_total",
		Help: "Crossings not sent because their group's incident was open (rule alert.suppress)."}, []string{"rule"})
	reg.MustRegister(m.timeErrors, m.lateEvents, m.windowDrops, m.suppressed)
	reg.MustRegister(m.limits.Collectors()...)
	reg.MustRegister(m.httpConns, m.heavyRunning, m.streamsOpen, m.typedPaths, m.typedPathsOver)
	reg.MustRegister(m.snapshots, m.snapshotFailures, m.snapshotStall, m.snapshotBytes, m.restores, m.restoreFailures, m.snapshotsSkipped, m.snapshotsDeferred, m.snapshotTempsRemoved)
	reg.MustRegister(m.eval, m.age, m.futureStamped, m.alerts, m.alertsResolved, m.rules, m.rate, m.partitions, m.backfillsRunning, m.backfillsDone, m.backfillFailures, m.ruleIndexBuilds, m.evalCutShort)
	return m
}

// newCounter and newGauge make the unregistered single series newMetrics declares by
// the dozen, one line each.
func newCounter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func newGauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

// forgetRule deletes the series of rule (SCOPE/ID), no longer active.
func (m *metrics) forgetRule(rule string) {
	for _, v := range []*prometheus.CounterVec{m.timeErrors, m.lateEvents, m.windowDrops, m.suppressed} {
		v.DeletePartialMatch(prometheus.Labels{"rule": rule})
	}
}

// windowStats adds what one event changed in a window state's counters.
func (m *metrics) windowStats(rule string, before, after window.Stats) {
	add := func(c prometheus.Counter, a, b uint64) {
		if b > a {
			c.Add(float64(b - a))
		}
	}
	if after.TimeErrors > before.TimeErrors {
		add(m.timeErrors.WithLabelValues(rule), before.TimeErrors, after.TimeErrors)
	}
	if after.Late > before.Late {
		add(m.lateEvents.WithLabelValues(rule), before.Late, after.Late)
	}
	if after.GroupsDropped > before.GroupsDropped {
		add(m.windowDrops.WithLabelValues(rule, "max_groups"), before.GroupsDropped, after.GroupsDropped)
	}
	if after.DistinctDropped > before.DistinctDropped {
		add(m.windowDrops.WithLabelValues(rule, "max_distinct"), before.DistinctDropped, after.DistinctDropped)
	}
	if after.Overflows > before.Overflows {
		add(m.windowDrops.WithLabelValues(rule, "sum_overflow"), before.Overflows, after.Overflows)
	}
	if after.KeysTooLong > before.KeysTooLong {
		add(m.windowDrops.WithLabelValues(rule, "max_key_bytes"), before.KeysTooLong, after.KeysTooLong)
	}
	if after.IncidentsDropped > before.IncidentsDropped {
		add(m.windowDrops.WithLabelValues(rule, "max_groups_incidents"), before.IncidentsDropped, after.IncidentsDropped)
	}
	if after.Suppressed > before.Suppressed {
		add(m.suppressed.WithLabelValues(rule), before.Suppressed, after.Suppressed)
	}
}
