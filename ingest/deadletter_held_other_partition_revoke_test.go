package ingest

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// revokeRecorder is a deadLetterCounter that notes the partitions revoked.
type revokeRecorder struct {
	deadLetterCounter
	mu      sync.Mutex
	revoked []int32
}

func (h *revokeRecorder) Revoked(ps []int32) {
	h.mu.Lock()
	h.revoked = append(h.revoked, ps...)
	h.mu.Unlock()
}

func (h *revokeRecorder) got() []int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.revoked)
}

// TestRevokeDoesNotWaitForAStayingPartitionsHeldDeadLetter: the dead-letter topic
// refuses writes (an ACL not yet granted) and consumer A holds the dead letter of a
// malformed event of partition 0. Consumer B joins and takes partition 1, which has
// no dead letter at all. A's revoke flushed the whole Rerouter, held dead letters
// included, so it waited for partition 0's, which stays with A, until
// ShutdownTimeout (here 2 minutes), and the group's rebalance with it. The revoke
// should flush the revoked partitions' records only: its callback returns while
// partition 0's dead letter is still held.
func TestRevokeDoesNotWaitForAStayingPartitionsHeldDeadLetter(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a rebalance: make test runs it")
	}
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	for p, v := range []string{`{"x":`, `{"x":1}`} { // partition 0 malformed, partition 1 not
		if err := pcl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Partition: int32(p), Key: []byte("c"), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var refusing atomic.Bool
	refusing.Store(true)
	b.RefuseProduces(t, "events.dlq", refusing.Load)

	start := func(reg *prometheus.Registry, h Handler) (*EventConsumer, func()) {
		ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(reg), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "dlq-held-other-revoke",
			CommitInterval: 100 * time.Millisecond, ShutdownTimeout: 2 * time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
		if err != nil {
			t.Fatal(err)
		}
		return ec, runInBackground(ec)
	}
	regA := prometheus.NewRegistry()
	ha := &revokeRecorder{}
	a, stopA := start(regA, ha)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			refusing.Store(false) // the held dead letter is delivered, so that A's stop does not wait it out
			stopA()
		})
	}
	t.Cleanup(stop)
	poll.Until(t, 30*time.Second, "consumer A's dead letter of partition 0 refused", func() bool {
		return promtest.Value(t, regA, "hindsight_produce_errors_total", "topic", "events.dlq") >= 1
	})
	_, stopB := start(prometheus.NewRegistry(), &deadLetterCounter{})
	t.Cleanup(stopB)
	poll.Until(t, 45*time.Second, "consumer A's revoke of a partition to B returning", func() bool { return len(ha.got()) > 0 })
	if got := ha.got(); !slices.Equal(got, []int32{1}) {
		t.Fatalf("A revoked %v; the test needs partition 1 given to B, partition 0 (the held dead letter's) kept", got)
	}
	if len(a.cfg.Metrics.Waits.Oldest()) == 0 {
		t.Fatal("partition 0's dead letter is no longer held: the revoke did not return while it was")
	}
}
