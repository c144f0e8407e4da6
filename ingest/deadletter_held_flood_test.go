package ingest

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestHeldDeadLettersAreBounded: a flood of malformed events while the dead-letter
// topic refuses writes for good (an ACL not yet granted). Each dead letter is held
// (Rerouter.hold), a goroutine of its own; counted by their bytes alone, dead letters
// of some two hundred bytes let MaxPendingProduceBytes hold 157 of them per 32 KiB,
// 300,000 goroutines at the default 64 MiB. Each hold counts heldCost, so the consumer
// stops fetching after a few (5 here), plus what one poll's events add. At the stop
// the holds are given up: nothing pending is left, and no offset is committed past
// the first held event.
func TestHeldDeadLettersAreBounded(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("holds dead letters through a 1 s shutdown flush: make test runs it")
	}
	t.Parallel()
	const n = 500
	const maxPending = 4 * heldCost
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.RefuseProduces(t, "events.dlq", func() bool { return true })
	bad := &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":`)}
	b.Produce(t, bad)

	reg := prometheus.NewRegistry()
	h := &deadLetterCounter{}
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-held-flood",
		MaxQueuedRecords: 10, MaxPendingProduceBytes: maxPending, FetchMaxBytes: 1 << 10, Workers: 1,
		CommitInterval: 100 * time.Millisecond, ShutdownTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	// The first refusal comes after the client's first produce setup (metadata, a
	// producer id), while the fetches go on: the flood follows it.
	poll.Until(t, 30*time.Second, "the first dead letter refused", func() bool {
		return promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq") >= 1
	})
	for range n - 1 { // a record batch each, so that a 1 KiB fetch takes a few of them
		b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":`)})
	}
	handled := waitStalled(t, &h.handled)
	held := 0
	for _, w := range ec.cfg.Metrics.Waits.Oldest() {
		if w.Topic == "events.dlq" {
			held = w.Records
		}
	}
	pending := promtest.Sum(t, reg, "hindsight_produce_pending_bytes")
	t.Logf("with events.dlq refusing writes for good: %d of %d events handled, %d dead letters held; hindsight_produce_pending_bytes %v", handled, n, held, pending)
	// A poll of 1 KiB adds some 14 events' dead letters past the bound.
	if handled == n || held > maxPending/heldCost+20 || pending < maxPending {
		t.Fatalf("--max-pending-produce-bytes %d did not bound the held dead letters: %d of %d events handled, %d held (gauge %v)", maxPending, handled, n, held, pending)
	}
	stop()
	if pending := promtest.Sum(t, reg, "hindsight_produce_pending_bytes"); pending != 0 {
		t.Errorf("the held dead letters were given up at the stop, and hindsight_produce_pending_bytes is %v", pending)
	}
	if w := ec.cfg.Metrics.Waits.Oldest(); len(w) != 0 {
		t.Errorf("the held dead letters were given up at the stop, and their waits are left: %+v", w)
	}
	if committed := b.GroupCommitted(t, "dlq-held-flood", "events"); committed > 0 {
		t.Errorf("the first event's dead letter was never written, and the group committed offset %d past it", committed)
	}
}
