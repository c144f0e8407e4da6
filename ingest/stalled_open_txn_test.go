package ingest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestStalledNotBehindAnOpenTransaction: a partition that handled every record it can
// read (up to the log's last stable offset) is not stalled while an open
// transaction's records lie past it, below the high watermark: read committed, they
// cannot be read before the transaction ends, which with exactly-once producers is
// minutes. Judged by the high watermark, /readyz failed for each checkpoint's length.
func TestStalledNotBehindAnOpenTransaction(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t, &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":1}`)})
	txn := b.TxnClient(t, "open-txn", []string{"events"}, kgo.ProducerLinger(0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	open := []*kgo.Record{{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":2}`)}, {Topic: "events", Key: []byte("c"), Value: []byte(`{"x":3}`)}}
	if err := txn.ProduceSync(ctx, open...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(prometheus.NewRegistry()), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "stalled-txn",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	ec.cl.Close()
	ec.cl = b.Client(t)
	ps := newPartState(0)
	ps.handled = kgo.EpochOffset{Epoch: -1, Offset: 1}
	ec.parts[0] = ps
	ec.refreshLag(ctx, kadm.NewClient(ec.cl))

	ps.mu.Lock()
	end, stable := ps.end, ps.stable
	ps.mu.Unlock()
	if end != 3 || stable != 1 {
		t.Fatalf("measured high watermark %d, last stable offset %d; want 3 and 1 (the test shows nothing)", end, stable)
	}
	if got := ec.Stalled(time.Now().Add(time.Minute), time.Second); len(got) != 0 {
		t.Errorf("Stalled = %+v, want none: every record that can be read was handled", got)
	}
}
