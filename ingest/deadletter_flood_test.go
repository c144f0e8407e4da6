package ingest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
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

// deadLetterCounter handles batches of malformed events: it walks Events (which
// dead-letters every record) and counts the records handled.
type deadLetterCounter struct{ handled atomic.Int64 }

func (*deadLetterCounter) Assigned([]int32) {}
func (*deadLetterCounter) Revoked([]int32)  {}
func (h *deadLetterCounter) HandleBatch(b *Batch) {
	for range b.Events() {
	}
	h.handled.Add(int64(b.Len()))
}

// TestDeadLettersWaitingForTheirTopicAreBounded: a flood of malformed events while the
// dead-letter topic does not take writes (a retriable error: a broker short of
// replicas, a leader moving). Each dead letter waits in the consumer's client, holding
// the event's bytes; past MaxPendingProduceBytes the consumer takes no further fetch,
// says so (OnQueueFull), and goes on once the topic takes writes again, every event
// handled and dead-lettered. Before the bound (a resource hunt's test) the consumer
// read on: 150 dead letters, 30 MB, waited in its client, bounded only by franz-go's
// MaxBufferedRecords (2^20 records of up to --dead-letter-max-bytes each).
func TestDeadLettersWaitingForTheirTopicAreBounded(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("waits out a dead-letter topic refusing 30 MB of writes: make test runs it")
	}
	t.Parallel()
	const n, size = 150, 200_000 // 30 MB of malformed events
	const maxPending = 1 << 20
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var recs []*kgo.Record
	bad := append([]byte(`{"x":"`), bytes.Repeat([]byte("y"), size)...) // unterminated: invalid_json
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c"), Value: bad})
		if len(recs) == 10 {
			b.Produce(t, recs...)
			recs = nil
		}
	}
	// The dead-letter topic refuses every write with a retriable error, as a topic
	// short of in-sync replicas does: the client retries until it takes them.
	var refusing atomic.Bool
	refusing.Store(true)
	b.FailProduces(t, "events.dlq", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return refusing.Load() })

	var mu sync.Mutex
	full := map[string]int{}
	h := &deadLetterCounter{}
	reg := prometheus.NewRegistry()
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-flood",
		MaxQueuedRecords: 10, MaxQueuedBytes: 1 << 20, MaxPendingProduceBytes: maxPending, FetchMaxBytes: 1 << 20, Workers: 1,
		OnQueueFull:     func(limit string) { mu.Lock(); full[limit]++; mu.Unlock() },
		ShutdownTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer runInBackground(ec)()
	// Handled stops growing once the bound holds the next fetch back.
	handled := waitStalled(t, &h.handled)
	bufRecs, bufBytes := ec.Client().BufferedProduceRecords(), ec.Client().BufferedProduceBytes()
	pending := promtest.Sum(t, reg, "hindsight_produce_pending_bytes")
	t.Logf("with events.dlq refusing writes: %d of %d events handled, %d dead letters (%d bytes) waiting in the client; hindsight_produce_pending_bytes %v",
		handled, n, bufRecs, bufBytes, pending)
	// A poll's batches may produce past the bound (a fetch is taken whole): the
	// consumer stops at the next poll, far short of the 30 MB of events.
	if handled == n || pending != float64(bufBytes) || pending < maxPending {
		t.Fatalf("the consumer read on: %d of %d events handled, %d bytes of dead letters waiting (gauge %v), bound %d", handled, n, bufBytes, pending, maxPending)
	}
	refusing.Store(false)
	poll.Until(t, 30*time.Second, "every event handled once the topic takes writes", func() bool {
		return h.handled.Load() == n && ec.Client().BufferedProduceRecords() == 0
	})
	mu.Lock()
	waits := full[QueueLimitPendingProduce]
	mu.Unlock()
	if waits == 0 {
		t.Errorf("the consumer waited for its dead letters without saying so: OnQueueFull %v", full)
	}
	if pending := promtest.Sum(t, reg, "hindsight_produce_pending_bytes"); pending != 0 {
		t.Errorf("every dead letter delivered, and hindsight_produce_pending_bytes is %v", pending)
	}
}

// waitStalled waits until handled has grown and then held still for half a second:
// a consumer that a bound holds back. It returns the count it stopped at.
func waitStalled(t *testing.T, handled *atomic.Int64) int64 {
	t.Helper()
	last := int64(-1)
	poll.Until(t, 20*time.Second, "the consumer to stop taking events", func() bool {
		now := handled.Load()
		stalled := now > 0 && now == last
		last = now
		time.Sleep(500 * time.Millisecond)
		return stalled
	})
	return handled.Load()
}

// runInBackground runs ec until the returned stop is called, which waits for Run to
// return.
func runInBackground(ec *EventConsumer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ec.Run(ctx) }()
	return func() {
		cancel()
		<-done
	}
}
