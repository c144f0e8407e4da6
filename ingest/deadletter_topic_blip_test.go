package ingest

import (
	"io"
	"log/slog"
	"sync/atomic"
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

// TestDeadLetterSurvivesABriefUnknownTopic: the broker answers the first 6 produce
// requests to events.dlq with UNKNOWN_TOPIC_OR_PARTITION, a retriable error (a broker
// whose metadata lags a partition reassignment, a topic being made again), then takes
// them. A retriable error is waited out for the alerts and for a dead-letter topic
// short of replicas (TestDeadLettersWaitingForTheirTopicAreBounded), but franz-go
// gives up on a topic it is told is unknown after UnknownTopicRetries (default 4):
// the dead letter of a malformed event fails for good after 5 refusals, is logged as
// lost, and the event's offset is committed past it. Nothing holds the malformed event
// any more but the events topic's retention.
func TestDeadLetterSurvivesABriefUnknownTopic(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out franz-go's backoff over unknown-topic answers (about 25 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":`)})
	var refused atomic.Int32
	b.FailProduces(t, "events.dlq", kerr.UnknownTopicOrPartition, func(*kmsg.ProduceRequest) bool { return refused.Add(1) <= 6 })

	reg := prometheus.NewRegistry()
	h := &deadLetterCounter{}
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-blip",
		CommitInterval: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	poll.Until(t, 60*time.Second, "the malformed event's offset committed", func() bool {
		return b.GroupCommitted(t, "dlq-blip", "events") == 1
	})
	stop()
	dlq := b.Consume(t, "events.dlq", 1, 5*time.Second)
	t.Logf("refused %d produce requests; events.dlq holds %d; produce errors %v", refused.Load(), len(dlq), promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq"))
	if len(dlq) != 1 {
		t.Fatalf("the malformed event's offset is committed and events.dlq holds %d records, want its dead letter: a brief UNKNOWN_TOPIC_OR_PARTITION (%d produce requests refused) lost it", len(dlq), refused.Load())
	}
}
