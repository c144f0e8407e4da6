package live_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestAPartitionThatCannotBeFetchedIsVisible: while the brokers cannot serve the events
// partition's fetches (a storage error on its leader), the daemon reads nothing, and
// both signals an operator watches said all was well: hindsight_consumer_lag_records
// was set only when a batch was handled, so it stayed at the 0 of the last batch read,
// and /readyz's "events are consumed" was a flag set once. Now the lag is measured
// from the log's end and grows with the records produced, and a partition with records
// to read and none handled for --max-consumer-stall makes /readyz not ready, naming the
// partition and the flag, and counts the limit; once fetches work again and the
// records are handled, it is ready again.
func TestAPartitionThatCannotBeFetchedIsVisible(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d := startHTTPDaemonOn(t, b, func(c *live.Config) {
		c.ConsumerLagInterval = 100 * time.Millisecond
		c.MaxConsumerStall = time.Second
	})
	var first []*kgo.Record
	for i := range 5 {
		first = append(first, ev(fmt.Sprintf("c-%d", i), downloaded))
	}
	b.Produce(t, first...)
	poll.Until(t, wait, "the first events read", func() bool { return d.EventsSeen() == int64(len(first)) })
	if got := promtest.Value(t, d.reg, "hindsight_consumer_lag_records", "partition", "0"); got != 0 {
		t.Fatalf("lag %v with every event read, want 0", got)
	}
	type ready struct {
		Ready   bool     `json:"ready"`
		Reasons []string `json:"reasons"`
	}
	var rd ready
	poll.Until(t, wait, "/readyz ready", func() bool {
		rd = ready{}
		livetest.GetJSON(t, d.base+"/readyz", &rd)
		return rd.Ready
	})
	if got := promtest.Value(t, d.reg, "hindsight_limit", "name", "max_consumer_stall_seconds"); got != 1 {
		t.Errorf("hindsight_limit{name=max_consumer_stall_seconds} = %v, want 1", got)
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

	stalled := func(rs []string) string {
		for _, r := range rs {
			if strings.Contains(r, "--max-consumer-stall") {
				return r
			}
		}
		return ""
	}
	poll.Until(t, wait, "/readyz not ready for the stalled partition", func() bool {
		rd = ready{}
		livetest.GetJSON(t, d.base+"/readyz", &rd)
		return stalled(rd.Reasons) != ""
	})
	want := fmt.Sprintf("partition 0: %d records can be read (offsets %d to %d)", behind, len(first), len(first)+behind-1)
	if r := stalled(rd.Reasons); rd.Ready || !strings.HasPrefix(r, want) {
		t.Errorf("/readyz while partition 0 cannot be fetched: ready %v, reason %q; want not ready, a reason starting %q", rd.Ready, r, want)
	}
	if seen := d.EventsSeen(); seen != int64(len(first)) {
		t.Fatalf("events seen %d while fetches fail, want %d (the test needs the fetches to fail)", seen, len(first))
	}
	var lag float64
	poll.WithinEvery(wait, 50*time.Millisecond, func() bool {
		lag = promtest.Value(t, d.reg, "hindsight_consumer_lag_records", "partition", "0")
		return lag >= behind
	})
	if lag < behind {
		t.Errorf("hindsight_consumer_lag_records{partition=\"0\"} = %v with %d records produced and none read (fetches failing), want >= %d", lag, behind, behind)
	}
	if got := promtest.Value(t, d.reg, "hindsight_limit_reached_total", "name", "max_consumer_stall_seconds"); got < 1 {
		t.Errorf("hindsight_limit_reached_total{name=max_consumer_stall_seconds} = %v after /readyz said stalled, want >= 1", got)
	}

	failing.Store(false)
	poll.Until(t, wait, "the events read once fetches work", func() bool { return d.EventsSeen() == int64(len(first)+behind) })
	poll.Until(t, wait, "/readyz ready again", func() bool {
		rd = ready{}
		livetest.GetJSON(t, d.base+"/readyz", &rd)
		return rd.Ready
	})
}
