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
)

// emitThenWait emits an alert for the first event of each batch and then waits for
// release before returning, so that the batch stays in hand with its alert produced.
type emitThenWait struct {
	entered chan int64 // the first batch's emitted event's offset
	release chan struct{}
}

func (*emitThenWait) Assigned([]int32) {}
func (*emitThenWait) Revoked([]int32)  {}
func (h *emitThenWait) HandleBatch(b *Batch) {
	first := int64(-1)
	for ev := range b.Events() {
		if first < 0 {
			first = ev.Offset
			b.Emit(ev, &kgo.Record{Topic: "alerts", Value: []byte("alert")})
		}
	}
	select {
	case h.entered <- first: // the first batch's; later ones are not waited for
	default:
	}
	<-h.release
}

// TestDeliveredWaitsForTheFirstBatchInHand: the partition's first batch is being
// handled (nothing handled yet, no resume point known) and its handler has produced an
// alert that the alerts topic has not taken. Delivered must answer the emitting event's
// offset, not -1: the daemon's waitDelivered reads -1 as "nothing produced here to wait
// for", so a snapshot whose counts include that event would be stored while its alert
// could still be lost. Once the alert is delivered and the batch returns, Delivered
// moves past the batch.
func TestDeliveredWaitsForTheFirstBatchInHand(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	b.Produce(t,
		&kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":1}`)},
		&kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":2}`)},
		&kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":3}`)})
	var refusing atomic.Bool
	refusing.Store(true)
	// A retriable error: the client keeps the alert and tries again, as with a
	// broker short of replicas.
	b.FailProduces(t, "alerts", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return refusing.Load() })

	h := &emitThenWait{entered: make(chan int64, 1), release: make(chan struct{})}
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(prometheus.NewRegistry()), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "delivered-first",
		CommitInterval: time.Hour, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	var emitted int64
	select {
	case emitted = <-h.entered:
	case <-time.After(30 * time.Second):
		close(h.release)
		stop()
		t.Fatal("no batch was handed to the handler")
	}
	if off, owned := ec.Delivered(0); !owned || off != emitted {
		refusing.Store(false)
		close(h.release)
		stop()
		t.Fatalf("Delivered(0) = %d, owned %v, with the first batch in hand and its alert (event %d) not delivered; want %d, true", off, owned, emitted, emitted)
	}
	refusing.Store(false)
	close(h.release)
	poll.Until(t, 30*time.Second, "Delivered past the first batch once its alert is delivered", func() bool {
		off, _ := ec.Delivered(0)
		return off > emitted
	})
	stop()
}
