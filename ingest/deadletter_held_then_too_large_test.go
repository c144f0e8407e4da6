package ingest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestHeldDeadLetterLaterRefusedAsTooLargeIsCut: the dead-letter topic refuses a dead
// letter (an ACL not yet granted), so it is held; then the ACL is granted and the
// topic's max.message.bytes lowered below the dead letter. The hold's next try is
// refused as too large, which no later try changes: the hold should end and the dead
// letter be cut to what the topic takes (Failed's cutAgain), as one refused so at
// once is. Found by a mutation hunt: the hold treating MESSAGE_TOO_LARGE as any other
// refusal passed every test, though it retried the same dead letter for ever and its
// event's offset stayed held.
func TestHeldDeadLetterLaterRefusedAsTooLargeIsCut(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	var refusing atomic.Bool
	refusing.Store(true)
	b.RefuseProduces(t, "events.dlq", refusing.Load)
	// Uncompressed, so that the topic measures the dead letter at its size.
	cl := b.Client(t, kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))

	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	r := NewRerouter(cl, "events.dlq", 1<<20, nil, m, slog.New(slog.DiscardHandler))
	holds := NewHolds()
	t.Cleanup(func() { // before the client closes, so that a hold left running ends
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		holds.GiveUp(ctx)
	})
	const limit = 1000
	alert := &kgo.Record{Topic: "alerts", Key: []byte("c"), Value: bytes.Repeat([]byte("a"), 8*limit)}
	dl := r.DeadLetter(alert, errors.New("alerts refused it"))
	done, given := make(chan struct{}), &atomic.Int32{}
	r.FailedFor(dl, kerr.TopicAuthorizationFailed, holds, func() { close(done) }, func() { given.Add(1) })

	// Counted once as it is held, once more for the hold's first try, refused too.
	poll.Until(t, 30*time.Second, "the held dead letter's first try refused", func() bool {
		return promtest.Value(t, reg, "hindsight_produce_errors_total", "topic", "events.dlq") >= 2
	})
	b.SetTopicConfig(t, "events.dlq", "max.message.bytes", strconv.Itoa(limit))
	refusing.Store(false)
	poll.Until(t, 30*time.Second, "the held dead letter, refused as too large, delivered cut", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flushing the rerouter after its dead letter was delivered: %v", err)
	}
	got := b.Consume(t, "events.dlq", 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("events.dlq holds %d records; want the one dead letter, cut", len(got))
	}
	if n := len(got[0].Value); n >= len(alert.Value) || n == 0 {
		t.Errorf("the delivered dead letter's value is %d bytes of the alert's %d; want it cut, not empty", n, len(alert.Value))
	}
	if lastHeader(got[0], HeaderReason) != ReasonNotProduced || lastHeader(got[0], HeaderOriginalBytes) == "" {
		t.Errorf("dead letter: reason %q, %s %q; want %s and the size before the cut", lastHeader(got[0], HeaderReason), HeaderOriginalBytes, lastHeader(got[0], HeaderOriginalBytes), ReasonNotProduced)
	}
	if _, n := holds.running(); n != 0 || given.Load() != 0 {
		t.Errorf("after delivery: %d holds running, given called %d times; want 0 and 0", n, given.Load())
	}
	if w := m.Waits.Oldest(); len(w) != 0 {
		t.Errorf("waits still open after delivery: %v", w)
	}
}
