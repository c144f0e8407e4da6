package ingest

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestShutdownCommitsWhatWasDeliveredWhenTheFlushTimesOut: ten events are handled
// and nothing was produced for them; the eleventh is malformed and its dead letter
// waits, the dead-letter topic refusing writes with a retriable error. At shutdown
// Run flushes for ShutdownTimeout and then commits with the same context, which the
// flush has spent: the commit fails ("committing offsets failed; will retry", though
// nothing retries it), and so does the revocation's, which reuses its flush's context
// too. Offsets 0-9, handled and owing nothing, are left uncommitted, and the next
// owner evaluates them again (their alerts sent twice). The commit should get a
// context of its own, and commit up to the held dead letter: 10.
func TestShutdownCommitsWhatWasDeliveredWhenTheFlushTimesOut(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var recs []*kgo.Record
	for range 10 {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":1}`)})
	}
	recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":`)})
	b.Produce(t, recs...)
	b.FailProduces(t, "events.dlq", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return true })

	h := &deadLetterCounter{}
	// No periodic commit comes during the test: the final ones are what is checked.
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(prometheus.NewRegistry()), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "flush-timeout",
		CommitInterval: time.Hour, ShutdownTimeout: 500 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	poll.Until(t, 30*time.Second, "every event handled", func() bool { return h.handled.Load() == 11 })
	if off, _ := ec.Delivered(0); off != 10 {
		t.Fatalf("Delivered(0) = %d before the shutdown, want 10 (held at the malformed event's dead letter)", off)
	}
	stop()
	if got := b.GroupCommitted(t, "flush-timeout", "events"); got != 10 {
		t.Fatalf("committed %d at shutdown, want 10: the events before the held dead letter, handled and owing nothing, were not committed because the flush's timeout had spent the commit's context", got)
	}
}
