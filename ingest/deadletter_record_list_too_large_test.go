package ingest

import (
	"bytes"
	"context"
	"errors"
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

// TestDeadLetterRefusedAsRecordListTooLargeIsCut: a dead-letter topic refusing a dead
// letter's batch with RECORD_LIST_TOO_LARGE refuses it for its size, as
// MESSAGE_TOO_LARGE does: the dead letter is cut and produced again until it fits,
// not held and retried whole for ever with its event's offset held. Found by a
// mutation hunt: tooLarge without RecordListTooLarge passed every test.
func TestDeadLetterRefusedAsRecordListTooLargeIsCut(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	const limit = 2000
	b.FailProduces(t, "events.dlq", kerr.RecordListTooLarge, func(pr *kmsg.ProduceRequest) bool {
		for _, tp := range pr.Topics {
			for _, p := range tp.Partitions {
				if len(p.Records) > limit {
					return true
				}
			}
		}
		return false
	})
	cl := b.Client(t, kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	r := NewRerouter(cl, "events.dlq", 1<<20, nil, NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	holds := NewHolds()
	t.Cleanup(func() { // before the client closes, so that a hold left running ends
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		holds.GiveUp(ctx)
	})
	alert := &kgo.Record{Topic: "alerts", Key: []byte("c"), Value: bytes.Repeat([]byte("a"), 8*limit)}
	var done atomic.Int32
	r.FailedFor(alert, errors.New("alerts refused it"), holds, func() { done.Add(1) }, nil)

	poll.Until(t, 30*time.Second, "the dead letter refused as a record list too large, delivered cut", func() bool {
		return done.Load() == 1
	})
	if got := b.TopicRecords(t, "events.dlq"); got != 1 {
		t.Errorf("events.dlq holds %d records; want 1, the dead letter cut", got)
	}
	if _, n := holds.running(); n != 0 {
		t.Errorf("holds running after the dead letter was delivered: %d; want 0", n)
	}
}
