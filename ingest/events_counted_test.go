package ingest

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestEventsTotalCountsEventRecordsOnly: hindsight_events_total counts the event
// records read, valid or not, and not the transaction markers read among them, which
// take offsets but hold no event (Batch.Len). Here two committed transactions and an
// aborted one: three event records read (one of them dead-lettered), and three
// markers that counting fetched records made six events. The one dead letter is
// counted, in DeadLettersTotal and by its reason.
func TestEventsTotalCountsEventRecordsOnly(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	txn := b.TxnClient(t, "events-txn", []string{"events"}, kgo.ProducerLinger(0))
	ev := func(key, value string) *kgo.Record {
		return &kgo.Record{Topic: "events", Key: []byte(key), Value: []byte(value)}
	}
	inTxn(t, txn, kgo.TryCommit, ev("c-1", `{"type":"ok"}`), ev("c-1", `{"type":`))
	inTxn(t, txn, kgo.TryAbort, ev("c-2", `{"type":"aborted"}`))
	inTxn(t, txn, kgo.TryCommit, ev("c-3", `{"type":"ok"}`))

	m := NewMetrics(nil)
	h := &collectHandler{events: map[int64]string{}}
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "events-total", ShutdownTimeout: 5 * time.Second, Metrics: m}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ec.Run(ctx) }()
	dlq := b.Consume(t, "events.dlq", 1, 30*time.Second)
	// The last valid event follows the first two markers: once it is handled, they
	// were read.
	poll.Until(t, 30*time.Second, "the two valid events handled", func() bool { return h.n() == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("consumer: %v", err)
	}
	if len(dlq) != 1 || string(dlq[0].Key) != "c-1" {
		t.Fatalf("dead letters %v, want the one of c-1's malformed event", dlq)
	}
	var got dto.Metric
	if err := m.Events.Write(&got); err != nil {
		t.Fatal(err)
	}
	if got := got.GetCounter().GetValue(); got != 3 {
		t.Errorf("hindsight_events_total %v, want 3: the event records read (two valid, one dead-lettered), no transaction marker", got)
	}
	// Run flushed what it produced before returning: the dead letter's delivery is
	// counted, in the total the daemon reports and by its reason.
	var byReason dto.Metric
	if err := m.DeadLetters.WithLabelValues(ReasonInvalidJSON).Write(&byReason); err != nil {
		t.Fatal(err)
	}
	if n, r := m.DeadLettersTotal(), byReason.GetCounter().GetValue(); n != 1 || r != 1 {
		t.Errorf("dead letters counted %d, %v of reason %s; want 1 and 1", n, r, ReasonInvalidJSON)
	}
}
