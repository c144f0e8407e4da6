package backtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestPartitionStateEndBelowTheLakesStart: the lake's retention dropped offsets 0-9
// (Earliest 10) while Kafka holds them all; a partition's history below end 5 is read
// from Kafka's head up to end and no further: 5 matches, offsets 5-9 left out as the
// offsets at and past end are. (Mutation hunt: readsOf's head not bounded by end,
// min(st.Earliest, log.to) -> st.Earliest, read offsets 5-9 too, and no test saw it.)
func TestPartitionStateEndBelowTheLakesStart(t *testing.T) {
	t.Parallel()
	b, lake, r := lakeRetainedFrom10(t)
	h, err := backtest.PartitionState(context.Background(), backtest.Config{Lake: lake, Brokers: []string{b.Addr}}, r, 0, 5, func(int64, time.Time, window.Crossing) {})
	if err != nil {
		t.Fatal(err)
	}
	if h.Matches != 5 || len(h.Missing) != 0 || h.HeldFrom != 0 {
		t.Errorf("history below offset 5: %d matches, missing %+v, held from %d; want 5 (offsets 0-4 from Kafka), none missing, held from 0", h.Matches, h.Missing, h.HeldFrom)
	}
}

// lakeRetainedFrom10 is a one-partition broker holding 20 login failures of customer
// c-1, offsets 0-9 three days old, a lake that archived all 20 and whose retention
// dropped offsets 0-9 (its first offset is 10), and a rule matching each of them.
func lakeRetainedFrom10(t *testing.T) (*kafkatest.Broker, *lakehouse.Lake, *rule.Rule) {
	t.Helper()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	old := time.Now().Add(-72 * time.Hour).Truncate(time.Millisecond)
	recent := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	events := func(at time.Time) []*kgo.Record {
		var recs []*kgo.Record
		for i := range 10 {
			recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":"login.failed"}`), Timestamp: at.Add(time.Duration(i) * time.Second)})
		}
		return recs
	}
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	b.Produce(t, events(old)...)
	archiveTo(t, b, bkt, lake, 9)
	b.Produce(t, events(recent)...)
	archiveTo(t, b, bkt, lake, 19)
	if rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{Retention: 24 * time.Hour, DeleteDelay: -1}); err != nil || rep.FilesExpired == 0 {
		t.Fatalf("retention: %d files expired, %v", rep.FilesExpired, err)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := snap.Partition(0); !ok || st.Earliest != 10 {
		t.Fatalf("after retention the lake starts at %d (listed %v), want 10", st.Earliest, ok)
	}
	r, err := rule.ParseRule([]byte(`{"id":"any","scope":"*","threshold":1000,"when":{"path":"$.type"}}`))
	if err != nil {
		t.Fatal(err)
	}
	return b, lake, r
}
