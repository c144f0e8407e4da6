package notify

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/limitmetric"
)

// stageMetrics are the notify stage's series.
type stageMetrics struct {
	alerts, skipped   prometheus.Counter
	deletedUnread     prometheus.Counter
	undeliveredErrors prometheus.Counter
	deliveries        *prometheus.CounterVec // by destination, outcome
	attempts          *prometheus.CounterVec
	queued            *prometheus.GaugeVec
	queues            prometheus.Gauge
	queueFull         *prometheus.CounterVec
	latency           prometheus.Histogram
	limits            *limitmetric.Limits
}

// Names of the stage's limits in hindsight_limit (and, for the queue,
// hindsight_limit_reached_total): the flags' names with '_' for '-'.
const (
	LimitQueueSize   = "notify_queue_size"
	LimitConcurrency = "notify_concurrency"
	LimitMaxAttempts = "notify_max_attempts"
	LimitRetryBudget = "notify_retry_budget_seconds"
	LimitTimeout     = "notify_timeout_seconds"
	LimitRecent      = "notify_recent"
	// LimitUndeliveredWaiting is Config.UndeliveredWaiting.
	LimitUndeliveredWaiting = "notify_undelivered_waiting"
)

func newStageMetrics(cfg Config) *stageMetrics {
	m := &stageMetrics{
		alerts: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_alerts_total",
			Help: "Alert records the notify stage read."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_skipped_total",
			Help: "Records of the alerts topic that are not alerts (nothing delivered)."}),
		deletedUnread: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_alerts_deleted_unread_total",
			Help: "Records of the alerts topic the broker deleted (its retention) after the group's committed offset and before this stage read them: the alerts among them that name destinations are delivered by nobody."}),
		undeliveredErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_undelivered_write_errors_total",
			Help: "Failed writes of undelivered records (retried until they land)."}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_notify_deliveries_total",
			Help: "Deliveries by destination and outcome (delivered, undelivered, muted); destination \"(none)\" for names no destination has."}, []string{"destination", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_notify_attempts_total",
			Help: "HTTP requests made, retries included, by destination."}, []string{"destination"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hindsight_notify_queued",
			Help: "Deliveries waiting in a destination's queue."}, []string{"destination"}),
		queues: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hindsight_notify_destination_queues",
			Help: "Destinations with a queue and workers: those delivered to since they were defined; a deleted one's go once its queue is empty."}),
		queueFull: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_notify_queue_full_total",
			Help: "Deliveries recorded undelivered because their destination's queue was full (--notify-queue-size)."}, []string{"destination"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hindsight_notify_delivery_seconds",
			Help: "Time from a delivery's first attempt to its 2xx answer.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18)}),
		limits: cfg.Limits,
	}
	cols := []prometheus.Collector{m.alerts, m.skipped, m.deletedUnread, m.undeliveredErrors, m.deliveries, m.attempts, m.queued, m.queues, m.queueFull, m.latency}
	if m.limits == nil {
		m.limits = limitmetric.New()
		cols = append(cols, m.limits.Collectors()...)
	}
	m.limits.ShowCounted(LimitQueueSize, float64(cfg.QueueSize))
	m.limits.Show(LimitConcurrency, float64(cfg.Concurrency))
	m.limits.Show(LimitMaxAttempts, float64(cfg.Sender.MaxAttempts))
	m.limits.Show(LimitRetryBudget, cfg.Sender.MaxElapsed.Seconds())
	m.limits.Show(LimitTimeout, cfg.Sender.Timeout.Seconds())
	m.limits.ShowCounted(LimitRecent, float64(cfg.Recent))
	m.limits.ShowCounted(LimitUndeliveredWaiting, float64(cfg.UndeliveredWaiting))
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(cols...)
	}
	return m
}

// forgetDestination deletes the series of destination name, which no destination has.
func (m *stageMetrics) forgetDestination(name string) {
	l := prometheus.Labels{"destination": name}
	m.deliveries.DeletePartialMatch(l)
	m.attempts.DeletePartialMatch(l)
	m.queued.DeletePartialMatch(l)
	m.queueFull.DeletePartialMatch(l)
}
