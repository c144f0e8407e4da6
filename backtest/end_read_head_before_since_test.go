package backtest_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/window"
)

// TestPartitionStateEndReadHeadLeftOutBySince: the lake holds offsets 10-19 of
// lakeRetainedFrom10's partition (its retention dropped 0-9, recorded 72h ago), Kafka
// all 20. A replay below 20 read up to there (Config.EndRead) with Since 24h ago below
// SinceBelow 20 (live's hand-off of a rule with a 24h lookback, started at 20) leaves
// out every event below the lake's first offset: recorded before Since, below
// SinceBelow. Kafka listing the log behind the lake (ending at 5), or not listing the
// partition, hides nothing the replay counts: its answer is the lake's 10 events, the
// one it gives once Kafka lists the whole log, not ErrTailUnavailable retried by live
// until Kafka lists it. Where the head may count (Since reaching into what the lake
// dropped, or SinceBelow within the head), the listing behind is still
// ErrTailUnavailable.
func TestPartitionStateEndReadHeadLeftOutBySince(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		what    string
		install func(b *kafkatest.Broker, behind func() bool)
	}{
		{"Kafka listing its log ending at 5", func(b *kafkatest.Broker, behind func() bool) { b.ListEndAt("events", 5, behind) }},
		{"Kafka not listing the partition", func(b *kafkatest.Broker, behind func() bool) { listEndsWithout(b, "events", behind) }},
	} {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			b, lake, r := lakeRetainedFrom10(t)
			var behind atomic.Bool
			behind.Store(true)
			c.install(b, behind.Load)
			state := func(since time.Duration, sinceBelow int64) (*backtest.PartitionHistory, error) {
				cfg := backtest.Config{Lake: lake, Brokers: []string{b.Addr}, EndRead: true,
					Since: time.Now().Add(-since), SinceBelow: sinceBelow}
				return backtest.PartitionState(context.Background(), cfg, r, 0, 20, func(int64, time.Time, window.Crossing) {})
			}
			if h, err := state(24*time.Hour, 20); err != nil || h.Matches != 10 || len(h.Missing) != 0 || h.HeldFrom != 0 {
				t.Errorf("since 24h ago below 20, %s: %v, %+v; want the lake's 10 matches, none missing, held from 0", c.what, err, h)
			}
			for _, k := range []struct {
				what       string
				since      time.Duration
				sinceBelow int64
			}{
				{"since 100h ago, before the head's events", 100 * time.Hour, 20},
				{"since 24h ago below 5, within the head", 24 * time.Hour, 5},
			} {
				if h, err := state(k.since, k.sinceBelow); !errors.Is(err, backtest.ErrTailUnavailable) {
					t.Errorf("%s, %s: err %v, history %+v; want ErrTailUnavailable", k.what, c.what, err, h)
				}
			}
			behind.Store(false)
			if h, err := state(24*time.Hour, 20); err != nil || h.Matches != 10 || len(h.Missing) != 0 || h.HeldFrom != 0 {
				t.Errorf("since 24h ago below 20, once Kafka lists the whole log: %v, %+v; want 10 matches, none missing, held from 0", err, h)
			}
		})
	}
}
