package backfill_test

import (
	"bytes"
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/e2etest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// matchingIn is backtest.Config.Matching as the live daemon sets it: backfill's
// MatchingRows over lake; reads, when set, counts the files it read.
func matchingIn(lake *lakehouse.Lake, cache string, reads *atomic.Int64) func(r *rule.Rule) (backtest.MatchingRows, error) {
	return func(r *rule.Rule) (backtest.MatchingRows, error) {
		m, err := backfill.NewMatchingRows(r, lake, cache, 0)
		if m == nil || err != nil {
			return nil, err
		}
		return countingRows{m, reads}, nil
	}
}

type countingRows struct {
	*backfill.MatchingRows
	reads *atomic.Int64
}

func (c countingRows) Read(ctx context.Context, f lakehouse.FileEntry, end int64, fn func(int64, string, time.Time, string) error) error {
	if c.reads != nil {
		c.reads.Add(1)
	}
	return c.MatchingRows.Read(ctx, f, end, fn)
}

// TestMatchingRowsKeepPartitionState: a windowed rule's history read through
// MatchingRows from a lake typing its paths (only the rows its condition keeps) gives
// the state, crossings and matches of reading every row of an untyped lake, below
// offsets inside the lake and past it (the Kafka tail).
func TestMatchingRowsKeepPartitionState(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	gen := workload.New(9, workload.Config{Customers: 5, Start: time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), Step: 3 * time.Second})
	var recs []*kgo.Record
	for range 3000 {
		ev := gen.Next()
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time})
	}
	recs = e2etest.ProduceSync(t, b, recs...)
	r := e2etest.ParseRule(t, `{"id":"failed-by-country","scope":"*","version":1,"when":{"all":[{"path":"$.type","op":"==","value":"login.failed"},
		{"path":"$.severity","op":">=","value":2}]},"group_by":["$.actor.geo.country"],"window":{"size":"10m","every":"5m"},"threshold":3}`)
	var paths []string
	for _, p := range r.Paths() {
		paths = append(paths, p.String())
	}
	plain, _ := e2etest.Archive(t, b, recs)
	typed, _ := e2etest.Archive(t, b, recs, paths...)
	ends := map[int32]int64{}
	for _, rec := range recs {
		ends[rec.Partition] = max(ends[rec.Partition], rec.Offset+1)
	}
	var reads atomic.Int64
	crossings := 0
	for p, end := range ends {
		for _, cut := range []int64{end / 3, end + 1} { // inside the lake, and one past it
			state := func(cfg backtest.Config) (*backtest.PartitionHistory, []string) {
				var got []string
				h, err := backtest.PartitionState(context.Background(), cfg, r, p, cut, func(offset int64, at time.Time, c window.Crossing) {
					got = append(got, c.Customer+"@"+at.String())
				})
				if err != nil {
					t.Fatal(err)
				}
				return h, got
			}
			want, wantX := state(backtest.Config{Lake: plain})
			got, gotX := state(backtest.Config{Lake: typed, Matching: matchingIn(typed, t.TempDir(), &reads)})
			if !bytes.Equal(got.State.AppendTo(nil), want.State.AppendTo(nil)) || !slices.Equal(gotX, wantX) || got.Matches != want.Matches {
				t.Errorf("partition %d below %d: typed read %d windows, %d crossings, %d matches; every row %d windows, %d crossings, %d matches",
					p, cut, got.State.WindowCount(), len(gotX), got.Matches, want.State.WindowCount(), len(wantX), want.Matches)
			}
			crossings += len(wantX)
		}
	}
	if crossings == 0 || reads.Load() == 0 {
		t.Fatalf("%d crossings, %d files read through MatchingRows: the test shows nothing", crossings, reads.Load())
	}
}
