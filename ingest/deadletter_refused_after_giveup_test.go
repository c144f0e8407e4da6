package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestDeadLetterRefusedAfterGiveUpIsGivenUpOnce: a dead letter refused after its
// partition's holds were given up (its promise ran after the revoke) is given up at
// once: given called once, done never, no hold started. Found by a mutation hunt:
// hold going on after giving it up passed every test, though its hold then ran on a
// given-up context and gave it up a second time (the consumer's acked twice), and
// ended a hold never counted, leaving the partition's hold count at -1.
func TestDeadLetterRefusedAfterGiveUpIsGivenUpOnce(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	cl := b.Client(t, kgo.ProducerLinger(0))
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	r := NewRerouter(cl, "events.dlq", 1<<20, nil, m, slog.New(slog.DiscardHandler))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holds := NewHolds()
	if n, err := holds.GiveUp(ctx); n != 0 || err != nil {
		t.Fatalf("giving up holds none held: %d, %v; want 0, nil", n, err)
	}
	var done, given atomic.Int32
	dl := r.DeadLetter(&kgo.Record{Topic: "alerts", Key: []byte("c"), Value: []byte(`{"a":1}`)}, errors.New("alerts refused it"))
	r.FailedFor(dl, kerr.TopicAuthorizationFailed, holds, func() { done.Add(1) }, func() { given.Add(1) })
	// Flush waits for every hold started, so a hold wrongly started has ended here.
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flushing the rerouter: %v", err)
	}
	if d, g := done.Load(), given.Load(); d != 0 || g != 1 {
		t.Errorf("the dead letter refused after GiveUp: done called %d times, given %d; want 0 and 1", d, g)
	}
	if _, n := holds.running(); n != 0 {
		t.Errorf("holds running after the dead letter was given up: %d; want 0", n)
	}
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if started != 0 {
		t.Errorf("the rerouter started %d dead letters (held or produced); want none: its partition's holds were given up", started)
	}
	if got := promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq"); got != 1 {
		t.Errorf("hindsight_produce_errors_total{topic=events.dlq} %v; want 1, the refusal", got)
	}
	if got := b.TopicRecords(t, "events.dlq"); got != 0 {
		t.Errorf("events.dlq holds %d records; want none: the dead letter was given up", got)
	}
}
