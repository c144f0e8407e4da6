package ingest

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are ingest's Prometheus series. One set per daemon: register it on the
// daemon's own registry so that several daemons in one process (tests) do not collide.
type Metrics struct {
	// Events counts event records read from the events topic (valid or not).
	Events prometheus.Counter
	// DeadLetters counts records sent to the dead-letter topic, by reason.
	DeadLetters *prometheus.CounterVec
	// Lag is, per owned events partition, the records from the next one to handle to
	// the partition's high watermark, as last seen by a fetch or measured every
	// EventsConfig.LagInterval: it grows while the partition cannot be read.
	Lag *prometheus.GaugeVec
	// ProduceErrors counts records (alerts, dead letters, statuses) that could not be
	// delivered, by topic.
	ProduceErrors *prometheus.CounterVec
	// Controls counts control records read, by outcome status.
	Controls *prometheus.CounterVec
	// Unread counts, per events partition, the events the broker deleted (retention)
	// between the position this consumer resumed or went on from and the records it
	// was then given: events no rule counted.
	Unread *prometheus.CounterVec
	// Refetched counts, per events partition, the records the brokers gave again below
	// what this consumer had read of the partition: the log went back (a broker lost
	// records, an unclean leader election), and the client resumed before them. They
	// are skipped, so that no event is counted twice.
	Refetched *prometheus.CounterVec
	// ProducePending is the bytes of records the event consumer produced (alerts,
	// dead letters) that the brokers have not yet acknowledged
	// (EventsConfig.MaxPendingProduceBytes bounds it).
	ProducePending prometheus.Gauge
	// Waits are the records produced for events (alerts, dead letters) waiting for
	// their topic, by topic (hindsight_produce_oldest_wait_seconds). A producing
	// client takes it as a hook: kgo.WithHooks(m.Waits).
	Waits *ProduceWaits

	lagMu sync.Mutex
	lags  map[int32]prometheus.Gauge

	deadLetters atomic.Int64
}

// DeadLettersTotal is the number of records sent to the dead-letter topic so far.
func (m *Metrics) DeadLettersTotal() int64 { return m.deadLetters.Load() }

// NewMetrics creates the series and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hindsight_events_total", Help: "Event records read from the events topic; rate() gives events/s."}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hindsight_dead_letters_total", Help: "Records sent to the dead-letter topic, by reason: events refused at ingest, and records made for events (alerts) that could not be produced (not_produced)."}, []string{"reason"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hindsight_consumer_lag_records", Help: "Records behind the high watermark, per events partition owned here: from the next record to handle to the log's end, set on each batch handled and measured every few seconds, so that it grows while the partition cannot be read."}, []string{"partition"}),
		ProduceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hindsight_produce_errors_total", Help: "Records that could not be delivered, by topic."}, []string{"topic"}),
		Controls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hindsight_controls_total", Help: "Control records read, by outcome (ok, invalid, stale, not_found)."}, []string{"status"}),
		Unread: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hindsight_events_deleted_unread_total", Help: "Events the broker deleted (retention) before this consumer read them, per events partition: no rule counted them."}, []string{"partition"}),
		Refetched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hindsight_events_refetched_total", Help: "Records given again below what was read of an events partition (its log went back: records lost on a broker), per partition: skipped, so that no event is counted twice; records written anew at those offsets are not counted either."}, []string{"partition"}),
		ProducePending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hindsight_produce_pending_bytes", Help: "Bytes of alerts and dead letters produced for events and not yet acknowledged by the brokers, a dead letter held while its topic refuses it for good counting 8 KiB more (at most about hindsight_limit{name=\"max_pending_produce_bytes\"}: past it no further fetch is taken)."}),
		lags:  map[int32]prometheus.Gauge{},
		Waits: newProduceWaits(),
	}
	for _, r := range []string{ReasonMissingKey, ReasonInvalidKey, ReasonKeyTooLong, ReasonInvalidJSON, ReasonTooDeep, ReasonNotProduced} {
		m.DeadLetters.WithLabelValues(r) // show zeros, so a dashboard sees the series exists
	}
	if reg != nil {
		reg.MustRegister(m.Events, m.DeadLetters, m.Lag, m.ProduceErrors, m.Controls, m.Unread, m.Refetched, m.ProducePending, m.Waits)
	}
	return m
}

func (m *Metrics) lag(p int32) prometheus.Gauge {
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	g, ok := m.lags[p]
	if !ok {
		g = m.Lag.WithLabelValues(strconv.Itoa(int(p)))
		m.lags[p] = g
	}
	return g
}

func (m *Metrics) dropLag(p int32) {
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	delete(m.lags, p)
	m.Lag.DeleteLabelValues(strconv.Itoa(int(p)))
}
