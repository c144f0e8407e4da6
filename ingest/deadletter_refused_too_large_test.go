package ingest

import (
	"bytes"
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

// TestDeadLetterRefusedAsTooLargeIsCutNotLost: the dead-letter topic takes smaller
// records than the events topic (its max.message.bytes is 10,000, an operator's, or a
// cluster's message.max.bytes below --dead-letter-max-bytes). A malformed event of
// 20 KB, which the events topic took, makes a dead letter under --dead-letter-max-bytes
// that events.dlq refuses as MESSAGE_TOO_LARGE. The notify stage cuts its undelivered
// records further when their topic refuses them so (TestUndeliveredRecordTooLargeEvenCutIsLost
// cuts first); the event consumer logs the dead letter as lost and commits the
// event's offset past it: the malformed event is in neither the dead-letter topic
// nor anything Hindsight will read again. It should be cut to what the topic takes
// (HeaderOriginalBytes saying its size) and delivered before the offset is committed.
func TestDeadLetterRefusedAsTooLargeIsCutNotLost(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.SetTopicConfig(t, "events.dlq", "max.message.bytes", "10000")
	bad := append([]byte(`{"x":"`), bytes.Repeat([]byte("y"), 20_000)...) // unterminated: invalid_json
	b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c"), Value: bad})

	reg := prometheus.NewRegistry()
	h := &deadLetterCounter{}
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-too-large",
		CommitInterval: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	// The offset is committed once the dead letter is delivered or has failed.
	poll.Until(t, 30*time.Second, "the malformed event's offset committed", func() bool {
		return b.GroupCommitted(t, "dlq-too-large", "events") == 1
	})
	stop()
	dlq := b.Consume(t, "events.dlq", 1, 5*time.Second)
	lost := promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq")
	if len(dlq) != 1 {
		t.Fatalf("the malformed event's offset is committed, and events.dlq holds %d records (hindsight_produce_errors_total{topic=events.dlq} %v): its dead letter, refused as too large, was dropped rather than cut to what the topic takes", len(dlq), lost)
	}
	if got := lastHeader(dlq[0], HeaderOriginalBytes); got == "" || lastHeader(dlq[0], HeaderReason) != ReasonInvalidJSON {
		t.Errorf("dead letter: reason %q, %s %q; want %s and the size before the cut", lastHeader(dlq[0], HeaderReason), HeaderOriginalBytes, got, ReasonInvalidJSON)
	}
}

// lastHeader is the value of rec's last header named key ("" without one).
func lastHeader(rec *kgo.Record, key string) string {
	v := ""
	for _, h := range rec.Headers {
		if h.Key == key {
			v = string(h.Value)
		}
	}
	return v
}
