package ingest

import (
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
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestHeldDeadLetterRefusedForItsTimeIsRestamped: a dead letter of an event 8 days old,
// refused first for another reason (an ACL not yet granted), is held and produced again
// with backoff; the topic, which takes no record stamped more than 7 days ago
// (log.message.timestamp.before.max.ms), then refuses it with INVALID_TIMESTAMP. The
// hold's next try is stamped now, the event's time in hindsight.dlq.timestamp, and the
// dead letter lands: produced again with its event's time, it was refused for ever and
// held its event's offset for good. Found by a mutation hunt: the hold retrying without
// the restamp passed every test, which restamp only a dead letter refused for its time
// at once (TestDeadLetterOfOldEventIsRestamped).
func TestHeldDeadLetterRefusedForItsTimeIsRestamped(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	maxAge := 7 * 24 * time.Hour
	var refusedForTime atomic.Int32
	// kfake has no check of record times: done here as a broker with
	// log.message.timestamp.before.max.ms does.
	b.FailProduces(t, "events.dlq", kerr.InvalidTimestamp, func(pr *kmsg.ProduceRequest) bool {
		for _, tp := range pr.Topics {
			for _, p := range tp.Partitions {
				var rb kmsg.RecordBatch
				if err := rb.ReadFrom(p.Records); err == nil && time.Since(time.UnixMilli(rb.FirstTimestamp)) > maxAge {
					refusedForTime.Add(1)
					return true
				}
			}
		}
		return false
	})
	cl := b.Client(t, kgo.ProducerLinger(0))
	r := NewRerouter(cl, "events.dlq", 1<<20, nil, NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	old := time.Now().Add(-8 * 24 * time.Hour).Truncate(time.Millisecond)
	event := &kgo.Record{Topic: "events", Partition: 0, Offset: 3, Key: []byte("c-1"), Value: []byte(`{"type":`), Timestamp: old}
	dl := DeadLetter(event, "events.dlq", ReasonInvalidJSON, errors.New("unexpected end of JSON input"))
	var done atomic.Int32
	r.Failed(dl, kerr.TopicAuthorizationFailed, func() { done.Add(1) })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flushing the rerouter after 30 s, %d produces refused for their time: %v; want the held dead letter restamped and delivered", refusedForTime.Load(), err)
	}
	if n := done.Load(); n != 1 {
		t.Errorf("done called %d times; want once", n)
	}
	if n := refusedForTime.Load(); n != 1 {
		t.Errorf("events.dlq refused %d produces for their time; want 1, the hold's first try", n)
	}
	got := b.Consume(t, "events.dlq", 1, 20*time.Second)
	if len(got) != 1 {
		t.Fatalf("events.dlq holds %d records; want the dead letter", len(got))
	}
	var ts []string
	for _, h := range got[0].Headers {
		if h.Key == HeaderTimestamp {
			ts = append(ts, string(h.Value))
		}
	}
	if want := strconv.FormatInt(old.UnixMilli(), 10); len(ts) != 1 || ts[0] != want || time.Since(got[0].Timestamp) > time.Hour {
		t.Errorf("the dead letter is stamped %v with %s %q; want stamped now, the event's time %s in the header", got[0].Timestamp, HeaderTimestamp, ts, want)
	}
}
