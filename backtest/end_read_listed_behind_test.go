package backtest_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestPartitionStateEndReadWhileKafkaListsTheLogBehind: a windowed rule's history
// below offset 30, which its caller read up to (Config.EndRead: live's hand-off), while
// the broker lists the log as ending at 10 (just restarted, or a leader newly elected)
// or does not list the partition at all, is ErrTailUnavailable, for the caller to
// retry, not a state of the 10 offsets listed with nothing said missing. Up to the
// listed end it reads as before; without EndRead (a by-hand replay) it reads what the
// log holds; once the broker lists the whole log, all 30.
func TestPartitionStateEndReadWhileKafkaListsTheLogBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := range 30 {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login.failed"}`), Timestamp: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	b.Produce(t, recs...)
	lake := lakehouse.NewLake(lakehouse.NewMemBucket(), nil)
	r, err := rule.ParseRule([]byte(`{"id":"logins","scope":"*","when":{"path":"$.type"},"window":{"size":"1h"},"threshold":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	var behind atomic.Bool
	behind.Store(true)
	b.ListEndAt("events", 10, behind.Load)
	read := backtest.Config{Lake: lake, Brokers: []string{b.Addr}, EndRead: true}
	state := func(cfg backtest.Config, p int32, end int64) (*backtest.PartitionHistory, error) {
		return backtest.PartitionState(ctx, cfg, r, p, end, func(int64, time.Time, window.Crossing) {})
	}
	for _, c := range []struct {
		what string
		p    int32
	}{{"listed as ending at 10", 0}, {"not listed", 1}} {
		if h, err := state(read, c.p, 30); !errors.Is(err, backtest.ErrTailUnavailable) {
			var matches int64
			if h != nil {
				matches = h.Matches
			}
			t.Errorf("partition %d, read up to 30 and %s: err %v, %d matches; want ErrTailUnavailable", c.p, c.what, err, matches)
		} else {
			t.Logf("partition %d %s: %v", c.p, c.what, err)
		}
	}
	if h, err := state(read, 0, 10); err != nil || h.Matches != 10 || len(h.Missing) != 0 {
		t.Errorf("read up to 10, the listed end: %v, %+v; want 10 matches, none missing", err, h)
	}
	byHand := read
	byHand.EndRead = false
	if h, err := state(byHand, 0, 30); err != nil || h.Matches != 10 || len(h.Missing) != 0 {
		t.Errorf("a by-hand replay up to 30 of a log listed ending at 10: %v, %+v; want what it holds, 10 matches, none missing", err, h)
	}
	behind.Store(false)
	if h, err := state(read, 0, 30); err != nil || h.Matches != 30 || len(h.Missing) != 0 {
		t.Errorf("once Kafka lists the whole log: %v, %+v; want 30 matches, none missing", err, h)
	}
}

// TestPartitionStateEndReadWhileKafkaListsTheLogBehindTheLake: the lake holds
// offsets 10-19 (its retention dropped 0-9), Kafka all 20; a replay below 20 read up
// to there needs from Kafka only the head below 10, and a broker listing the log as
// ending at 5 is behind the lake's archive of it: ErrTailUnavailable, not a state of
// offsets 0-4 and 10-19 with nothing said missing.
func TestPartitionStateEndReadWhileKafkaListsTheLogBehindTheLake(t *testing.T) {
	t.Parallel()
	endReadBehindTheLake(t, "Kafka listing its log ending at 5", func(b *kafkatest.Broker, behind func() bool) { b.ListEndAt("events", 5, behind) })
}

// endReadBehindTheLake replays lakeRetainedFrom10's partition below 20, read up to
// there (Config.EndRead), while install has the broker list the log behind (what
// says how) until behind returns false: ErrTailUnavailable; then all 20 events, none
// missing, history held from 0.
func endReadBehindTheLake(t *testing.T, what string, install func(b *kafkatest.Broker, behind func() bool)) {
	t.Helper()
	b, lake, r := lakeRetainedFrom10(t)
	var behind atomic.Bool
	behind.Store(true)
	install(b, behind.Load)
	cfg := backtest.Config{Lake: lake, Brokers: []string{b.Addr}, EndRead: true}
	if h, err := backtest.PartitionState(context.Background(), cfg, r, 0, 20, func(int64, time.Time, window.Crossing) {}); !errors.Is(err, backtest.ErrTailUnavailable) {
		t.Fatalf("read up to 20, the lake holding 10-19, %s: err %v, history %+v; want ErrTailUnavailable", what, err, h)
	} else {
		t.Logf("%s: %v", what, err)
	}
	behind.Store(false)
	if h, err := backtest.PartitionState(context.Background(), cfg, r, 0, 20, func(int64, time.Time, window.Crossing) {}); err != nil || h.Matches != 20 || len(h.Missing) != 0 || h.HeldFrom != 0 {
		t.Errorf("once Kafka lists the whole log: %v, %+v; want 20 matches, none missing, held from 0", err, h)
	}
}
