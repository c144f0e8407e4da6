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
)

// limitedCounter is a deadLetterCounter that holds commits back to limit (none while
// limit is below -1).
type limitedCounter struct {
	deadLetterCounter
	limit atomic.Int64
}

func (h *limitedCounter) CommitLimit(int32) (int64, bool) {
	l := h.limit.Load()
	return l, l >= -1
}

// TestCommitLimitHoldsBackAndNeverMovesACommitBack: ten events handled; a commit under
// a limit of 4 commits 4, one without a limit 10; five more handled, a commit under the
// limit of 4 again leaves 10: a limit holds commits back, it never moves the group's
// offset back over events already committed (they would be read again, their alerts
// sent twice).
func TestCommitLimitHoldsBackAndNeverMovesACommitBack(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	produce := func(n int) {
		var recs []*kgo.Record
		for range n {
			recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c"), Value: []byte(`{"x":1}`)})
		}
		b.Produce(t, recs...)
	}
	produce(10)
	h := &limitedCounter{}
	h.limit.Store(4)
	// No periodic commit comes during the test: the test's own are what is checked.
	ec, err := NewEventConsumer(EventsConfig{Metrics: NewMetrics(prometheus.NewRegistry()), Kafka: KafkaConfig{Brokers: []string{b.Addr}}, Group: "commit-limit",
		CommitInterval: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(ec)
	defer stop()
	poll.Until(t, 30*time.Second, "ten events handled", func() bool { return h.handled.Load() == 10 })
	commit := func(limit, want int64) {
		t.Helper()
		h.limit.Store(limit)
		ec.Commit(context.Background())
		if got := b.GroupCommitted(t, "commit-limit", "events"); got != want {
			t.Fatalf("committed %d under limit %d, want %d", got, limit, want)
		}
	}
	commit(4, 4)
	commit(-2, 10)
	produce(5)
	poll.Until(t, 30*time.Second, "fifteen events handled", func() bool { return h.handled.Load() == 15 })
	commit(4, 10)
	commit(-2, 15)
}
