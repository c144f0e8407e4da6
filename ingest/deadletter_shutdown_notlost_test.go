package ingest

import (
	"log/slog"
	"strings"
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

// TestUndeliveredDeadLetterAtShutdownIsNotCalledLost: the dead-letter topic refuses
// writes with a retriable error (NOT_ENOUGH_REPLICAS) while the consumer stops. The
// malformed event's offset is rightly not committed (its dead letter is held), so the
// next owner reads it again and dead-letters it. But closing the client fails the
// buffered dead letter with "client closed", and Rerouter.Failed logs at error
// "producing a dead letter failed; what it stood for is lost" and counts it in
// hindsight_produce_errors_total{topic="events.dlq"}: an operator is told of a loss
// that did not happen (one per buffered dead letter, thousands in a flood).
func TestUndeliveredDeadLetterAtShutdownIsNotCalledLost(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":`)})
	b.FailProduces(t, "events.dlq", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return true })

	var logs syncBuffer
	reg := prometheus.NewRegistry()
	h := &deadLetterCounter{}
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-shutdown",
		CommitInterval: 100 * time.Millisecond, ShutdownTimeout: 500 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	poll.Until(t, 30*time.Second, "the malformed event handled", func() bool { return h.handled.Load() == 1 })
	stop()
	committed := b.GroupCommitted(t, "dlq-shutdown", "events")
	errs := promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq")
	t.Logf("committed %d; produce errors %v; log:\n%s", committed, errs, logs.String())
	if committed != 0 {
		t.Fatalf("committed %d past an undelivered dead letter", committed)
	}
	if strings.Contains(logs.String(), "lost") || errs > 0 {
		t.Errorf("the dead letter still undelivered at shutdown is logged as lost (produce errors %v), while its event's offset was not committed: the next owner reads the event again and dead-letters it", errs)
	}
}
