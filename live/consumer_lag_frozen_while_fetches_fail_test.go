package live_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestConsumerLagShownWhileFetchesFail: hindsight_consumer_lag_records is "records
// behind the high watermark, per events partition", the series an operator alerts on
// when the daemon falls behind. While the brokers cannot serve the events partition's
// fetches (a storage error on the leader), nothing is read, so the lag must grow with
// the records produced; the gauge is only set when a batch is handled, and stays at
// the 0 of the last batch read before the fetches failed: the daemon reads nothing and
// says it is caught up (and /readyz says ready).
func TestConsumerLagShownWhileFetchesFail(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d := startHTTPDaemonOn(t, b, nil)
	var first []*kgo.Record
	for i := range 5 {
		first = append(first, ev(fmt.Sprintf("c-%d", i), downloaded))
	}
	b.Produce(t, first...)
	poll.Until(t, wait, "the first events read", func() bool { return d.EventsSeen() == int64(len(first)) })
	if got := promtest.Value(t, d.reg, "hindsight_consumer_lag_records", "partition", "0"); got != 0 {
		t.Fatalf("lag %v with every event read, want 0", got)
	}

	var failing atomic.Bool
	failing.Store(true)
	b.FailFetches(t, "events", kerr.KafkaStorageError, failing.Load)
	t.Cleanup(func() { failing.Store(false) })
	const behind = 50
	var more []*kgo.Record
	for i := range behind {
		more = append(more, ev(fmt.Sprintf("c-%d", i), downloaded))
	}
	b.Produce(t, more...)
	if n := b.TopicRecords(t, "events"); n != int64(len(first)+behind) {
		t.Fatalf("events topic holds %d records, want %d", n, len(first)+behind)
	}

	deadline := time.Now().Add(10 * time.Second)
	var lag float64
	for time.Now().Before(deadline) {
		if lag = promtest.Value(t, d.reg, "hindsight_consumer_lag_records", "partition", "0"); lag >= behind {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if seen := d.EventsSeen(); seen != int64(len(first)) {
		t.Fatalf("events seen %d while fetches fail, want %d (the test needs the fetches to fail)", seen, len(first))
	}
	if lag < behind {
		t.Errorf("hindsight_consumer_lag_records{partition=\"0\"} = %v with %d records produced and none read for 10s (fetches failing), want >= %d", lag, behind, behind)
	}
	rd := map[string]any{}
	livetest.GetJSON(t, d.base+"/readyz", &rd)
	t.Logf("/readyz meanwhile: %v", rd)
}
