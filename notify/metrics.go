package notify

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/limitmetric"
)

// stageMetrics are the notify stage's series.
type stageMetrics struct {
	alerts, skipped   prometheus.Counter
	deletedUnread     prometheus.Counter
	undeliveredErrors prometheus.Counter
	undeliveredLost   prometheus.Counter
	deliveries        *prometheus.CounterVec // by destination, outcome
	attempts          *prometheus.CounterVec
	queued            *prometheus.GaugeVec
	queues            prometheus.Gauge
	queueFull         *prometheus.CounterVec
	latency           prometheus.Histogram
	pendingWait       prometheus.Counter
	limits            *limitmetric.Limits

	mu sync.Mutex
	// named are the destination names with series (label records them, with the
	// forgetUnused pass they were last labelled in), so that every one no destination
	// uses any more loses them: one that only ever had muted alerts, or a give-up after
	// its queue went, never had a queue to notice.
	named map[string]int
	pass  int
}

// Names of the stage's limits in hindsight_limit (and, for the queue,
// hindsight_limit_reached_total): the flags' names with '_' for '-'.
const (
	LimitQueueSize   = "notify_queue_size"
	LimitConcurrency = "notify_concurrency"
	LimitMaxAttempts = "notify_max_attempts"
	LimitRetryBudget = "notify_retry_budget_seconds"
	LimitTimeout     = "notify_timeout_seconds"
	// LimitMaxRetryAfter is SenderConfig.MaxRetryAfter; each Retry-After cut to it is
	// counted as it reached.
	LimitMaxRetryAfter = "notify_max_retry_after_seconds"
	LimitRecent        = "notify_recent"
	// LimitUndeliveredWaiting is Config.UndeliveredWaiting.
	LimitUndeliveredWaiting = "notify_undelivered_waiting"
	// LimitMaxPending is Config.MaxPending.
	LimitMaxPending = "notify_max_pending"
	// LimitMaxOpenFirings is Config.MaxOpenFirings.
	LimitMaxOpenFirings = "notify_max_open_firings"
	// LimitRememberFor is Config.RememberFor; reached by a resolve sent, its firing not
	// remembered, whose incident began before a look-back that left alerts out, and
	// over whose start a mute the fold holds was in force and has ended: a muted
	// firing read again would have been sent as that mute ended (Stage.forgottenByLookBack).
	// A partition whose alerts merely go further back is not: nearly every one of a
	// topic kept longer is.
	LimitRememberFor = "notify_remember_for_seconds"
)

// newStageMetrics makes the stage's series; pending is its count of pending alerts,
// open of the firings it remembers, owedWaiting of the owed muted firings held for
// their partitions' reading.
func newStageMetrics(cfg Config, pending, open, owedWaiting func() float64) *stageMetrics {
	m := &stageMetrics{
		alerts: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_alerts_total",
			Help: "Alert records the notify stage read."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_skipped_total",
			Help: "Records of the alerts topic that are not alerts (nothing delivered)."}),
		deletedUnread: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_alerts_deleted_unread_total",
			Help: "Records of the alerts topic the broker deleted (its retention) after the group's committed offset and before this stage read them: the alerts among them that name destinations are delivered by nobody."}),
		undeliveredErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_undelivered_write_errors_total",
			Help: "Failed writes of undelivered records (retried until they land)."}),
		undeliveredLost: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_undelivered_lost_total",
			Help: "Undelivered records refused as too large even with their alert's values and their key cut: not written, logged, and their alerts counted handled."}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_notify_deliveries_total",
			Help: "Deliveries by destination and outcome (delivered, undelivered, muted); destination \"(none)\" for names no destination has."}, []string{"destination", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_notify_attempts_total",
			Help: "HTTP requests made, retries included, by destination; each counted as it is made, a delivery still retrying included."}, []string{"destination"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hindsight_notify_queued",
			Help: "Deliveries waiting in a destination's queue."}, []string{"destination"}),
		queues: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hindsight_notify_destination_queues",
			Help: "Destinations with a queue and workers: those delivered to since they were defined; a deleted one's go once its queue is empty."}),
		queueFull: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hindsight_notify_queue_full_total",
			Help: "Deliveries recorded undelivered because their destination's queue was full (--notify-queue-size)."}, []string{"destination"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hindsight_notify_delivery_seconds",
			Help: "Time from a delivery's first attempt to its 2xx answer.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18)}),
		pendingWait: prometheus.NewCounter(prometheus.CounterOpts{Name: "hindsight_notify_pending_wait_seconds_total",
			Help: "Time reading alerts waited for the oldest pending alerts to be handled (--notify-max-pending)."}),
		limits: cfg.Limits,
	}
	pendingGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hindsight_notify_pending_alerts",
		Help: "Alerts naming destinations read since each partition's oldest not yet delivered or recorded undelivered (a restart delivers them again); at --notify-max-pending reading waits."}, pending)
	openGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hindsight_notify_open_firings",
		Help: "Firings the notify stage remembers until it reads their resolves, so that a resolve follows its firing (muted, or sent where it went); at --notify-max-open-firings the oldest is forgotten."}, open)
	owedGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hindsight_notify_owed_waiting",
		Help: "Muted firings no mute covers any more, held by the last check for ended mutes until their partition is read up to the end offset listed after the mute's end (an unread record may be a resolve raised under it)."}, owedWaiting)
	cols := []prometheus.Collector{m.alerts, m.skipped, m.deletedUnread, m.undeliveredErrors, m.undeliveredLost, m.deliveries, m.attempts, m.queued, m.queues, m.queueFull, m.latency, m.pendingWait, pendingGauge, openGauge, owedGauge}
	if m.limits == nil {
		m.limits = limitmetric.New()
		cols = append(cols, m.limits.Collectors()...)
	}
	m.limits.ShowCounted(LimitQueueSize, float64(cfg.QueueSize))
	m.limits.Show(LimitConcurrency, float64(cfg.Concurrency))
	m.limits.Show(LimitMaxAttempts, float64(cfg.Sender.MaxAttempts))
	m.limits.Show(LimitRetryBudget, cfg.Sender.MaxElapsed.Seconds())
	m.limits.Show(LimitTimeout, cfg.Sender.Timeout.Seconds())
	m.limits.ShowCounted(LimitMaxRetryAfter, cfg.Sender.MaxRetryAfter.Seconds())
	m.limits.ShowCounted(LimitRecent, float64(cfg.Recent))
	m.limits.ShowCounted(LimitUndeliveredWaiting, float64(cfg.UndeliveredWaiting))
	m.limits.ShowCounted(LimitMaxPending, float64(cfg.MaxPending))
	m.limits.ShowCounted(LimitMaxOpenFirings, float64(cfg.MaxOpenFirings))
	m.limits.ShowCounted(LimitRememberFor, cfg.RememberFor.Seconds())
	m.limits.ShowCounted(LimitMaxSecretBytes, float64(cfg.MaxSecretBytes))
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(cols...)
	}
	return m
}

// label is the destination label of name, noted as one with series.
func (m *stageMetrics) label(name string) string {
	if name == NoDestinationLabel {
		return name
	}
	m.mu.Lock()
	if m.named == nil {
		m.named = map[string]int{}
	}
	m.named[name] = m.pass
	m.mu.Unlock()
	return name
}

// forgetUnused deletes the series of every destination name that inUse says no
// destination or queue has any more: names made and deleted (a destination per
// customer, by a script) grew /metrics without end. A name labelled since the last
// pass waits for the next: its series may be made just after label returned, and
// deleted before that it would come back unrecorded.
func (m *stageMetrics) forgetUnused(inUse func(name string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pass++
	for name, pass := range m.named {
		if inUse(name) || pass == m.pass-1 {
			continue
		}
		delete(m.named, name)
		l := prometheus.Labels{"destination": name}
		m.deliveries.DeletePartialMatch(l)
		m.attempts.DeletePartialMatch(l)
		m.queued.DeletePartialMatch(l)
		m.queueFull.DeletePartialMatch(l)
	}
}
