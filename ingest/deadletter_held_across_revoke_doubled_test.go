package ingest

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestDeadLetterHeldAcrossRevokeIsWrittenOnce: the dead-letter topic refuses writes
// (an ACL not yet granted) while consumer A holds the dead letters of two malformed
// events, one per partition. Consumer B joins the group and takes one partition: A's
// revoke commits below the held offset (rightly), and B reads the event again and
// holds a dead letter of its own. A's hold of the revoked partition's dead letter
// goes on (its client stays open), so once the ACL is granted both are written: the
// event is dead-lettered twice. "Nothing counted twice": a revoke should give up
// the held dead letter of a partition it gives away, as its offset was.
func TestDeadLetterHeldAcrossRevokeIsWrittenOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a rebalance and the holds given up with it: make test runs it")
	}
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	for p := range int32(2) {
		if err := pcl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: p, Key: []byte("c"), Value: []byte(`{"x":`)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var refusing atomic.Bool
	refusing.Store(true)
	b.RefuseProduces(t, "events.dlq", refusing.Load)

	start := func(reg *prometheus.Registry) (*EventConsumer, func()) {
		ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-held-revoke",
			CommitInterval: 100 * time.Millisecond, ShutdownTimeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, &deadLetterCounter{})
		if err != nil {
			t.Fatal(err)
		}
		return ec, runInBackground(ec)
	}
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	a, stopA := start(regA)
	poll.Until(t, 30*time.Second, "consumer A's two dead letters refused", func() bool {
		return promtest.Value(t, regA, "hindsight_produce_errors_total", "topic", "events.dlq") >= 2
	})
	bc, stopB := start(regB)
	poll.Until(t, 60*time.Second, "consumer B reading the moved partition's event and its dead letter refused", func() bool {
		return promtest.Value(t, regB, "hindsight_produce_errors_total", "topic", "events.dlq") >= 1
	})
	refusing.Store(false)
	poll.Until(t, 90*time.Second, "every held dead letter written", func() bool {
		return len(a.cfg.Metrics.Waits.Oldest()) == 0 && len(bc.cfg.Metrics.Waits.Oldest()) == 0 && b.TopicRecords(t, "events.dlq") >= 2
	})
	stopB()
	stopA()
	if n := b.TopicRecords(t, "events.dlq"); n != 2 {
		t.Fatalf("events.dlq holds %d dead letters for 2 malformed events: the one consumer A held for the partition it gave to B was written besides B's", n)
	}
}
