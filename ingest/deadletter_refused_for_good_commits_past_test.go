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
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestDeadLetterRefusedForGoodHoldsItsOffset: the dead-letter topic refuses every
// write with a permanent error (TOPIC_AUTHORIZATION_FAILED: an ACL not yet granted;
// INVALID_TOPIC_EXCEPTION alike). The malformed event's dead letter fails, is counted
// in hindsight_produce_errors_total and logged as lost, and the event's offset is
// committed past it: once the operator grants the ACL, nothing is left to dead-letter
// the event again. "Every bad input ... loses nothing": the offset should stay held
// (or the consumer stop) while its dead letter cannot be written.
func TestDeadLetterRefusedForGoodHoldsItsOffset(t *testing.T) {
	if testing.Short() {
		t.Skip("holds each dead letter through backoff and a 5 s shutdown (about 13 s): make test runs it")
	}
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  *kerr.Error
	}{
		{"topic authorization failed", kerr.TopicAuthorizationFailed},
		{"invalid topic", kerr.InvalidTopicException},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":`)})
			b.FailProduces(t, "events.dlq", tc.err, func(*kmsg.ProduceRequest) bool { return true })

			reg := prometheus.NewRegistry()
			h := &deadLetterCounter{}
			ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-refused",
				CommitInterval: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
			if err != nil {
				t.Fatal(err)
			}
			stop := runInBackground(ec)
			poll.Until(t, 30*time.Second, "the dead letter's failure counted", func() bool {
				return promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq") >= 1
			})
			// Commits run every 100 ms: give several a chance to commit past the event.
			// The bound is the scenario (nothing may commit it within it); it ends
			// early only on the defect.
			committed := int64(-1)
			poll.WithinEvery(3*time.Second, 100*time.Millisecond, func() bool {
				committed = b.GroupCommitted(t, "dlq-refused", "events")
				return committed == 1
			})
			stop()
			if committed == 1 {
				t.Fatalf("events.dlq refused the dead letter with %v for good (produce errors %v) and the malformed event's offset was committed past it (committed %d): the event is lost to every later run",
					tc.err, promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq"), committed)
			}
		})
	}
}
