package backtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// maintainOnRead is a real bucket that, on the first read of a data file whose name
// contains at, first runs a maintenance pass on the lake (compaction, then a pass
// whose clock is past the delete delay): the archiver's embedded maintenance (every
// --archive-maintain-interval) or `hindsight lake compact` running while a backtest
// reads, the backtest slower than --delete-delay.
type maintainOnRead struct {
	lakehouse.Bucket
	at   string
	once sync.Once
	err  error
	reps []lakehouse.MaintenanceReport
}

func (b *maintainOnRead) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if strings.HasPrefix(name, "data/") && strings.Contains(name, b.at) {
		b.once.Do(func() {
			lake := lakehouse.NewLake(b.Bucket, nil)
			for _, now := range []time.Time{time.Now(), time.Now().Add(24 * time.Hour)} {
				rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 30, OrphanGrace: time.Hour,
					Now: func() time.Time { return now }})
				if err != nil {
					b.err = err
					return
				}
				b.reps = append(b.reps, rep)
			}
		})
	}
	return b.Bucket.Get(ctx, name)
}

// TestBacktestOverLakeCompactedMidRun: maintenance merges the lake's small files and
// deletes the replaced ones (their delete delay past) while a backtest reads them.
// Backfill answers (it re-reads the lost files' offsets from the newer manifest); a
// backtest (`hindsight backtest`, the console's, which call backtest.Run
// once) fails with ErrLakeChanged for the same lake, so any backtest slower than the
// delete delay over a lake whose archiver compacts fails, however often it is run.
// The answer wanted is the one over the same events with nobody maintaining.
func TestBacktestOverLakeCompactedMidRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rules := map[string]string{
		"plain":    `{"id":"plain","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`,
		"windowed": `{"id":"windowed","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"window":{"size":"1h"},"threshold":5}`,
	}
	for name, js := range rules {
		t.Run(name, func(t *testing.T) {
			r, err := rule.ParseRule([]byte(js))
			if err != nil {
				t.Fatal(err)
			}
			write := func(bkt lakehouse.Bucket) {
				at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
				m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: at, Writer: "legacy"}
				for i := range 12 {
					var rows []lakehouse.Row
					for j := range 3 {
						off := int64(i*3 + j)
						ts := at.Add(time.Duration(off) * time.Second)
						rows = append(rows, lakehouse.Row{Offset: off, EventTime: ts, IngestTime: ts, Customer: fmt.Sprintf("c-%d", off%2), Payload: `{"type":"x"}`})
					}
					data, e, err := lakehouse.EncodeRows(0, int64(i*3), rows, nil, true)
					if err != nil {
						t.Fatal(err)
					}
					e.Path, e.Created = fmt.Sprintf("data/p=0000/h=2024-01-01T00/%020d-%020d-%08x.parquet", e.StartOffset, e.EndOffset, i), at
					if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
						t.Fatal(err)
					}
					m.Files = append(m.Files, e)
				}
				m.Partitions = []lakehouse.PartitionState{{Partition: 0, Watermark: 35, EarliestTime: at}}
				js, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				if err := bkt.Put(ctx, "manifest/v000000000001.json", bytes.NewReader(js)); err != nil {
					t.Fatal(err)
				}
			}
			quiet := lakehouse.NewMemBucket()
			write(quiet)
			want, err := backtest.Run(ctx, backtest.Config{Lake: lakehouse.NewLake(quiet, nil), Rules: []*rule.Rule{r}})
			if err != nil {
				t.Fatal(err)
			}
			bkt := &maintainOnRead{Bucket: lakehouse.NewMemBucket(), at: "-00000005.parquet"} // the sixth file
			write(bkt.Bucket)
			got, err := backtest.Run(ctx, backtest.Config{Lake: lakehouse.NewLake(bkt, nil), Rules: []*rule.Rule{r}})
			if bkt.err != nil {
				t.Fatal(bkt.err)
			}
			if len(bkt.reps) != 2 || bkt.reps[0].FilesCompacted == 0 || bkt.reps[1].ObjectsDeleted == 0 {
				t.Fatalf("maintenance did not merge and delete: %+v", bkt.reps)
			}
			if err != nil {
				t.Fatalf("backtest over a lake compacted mid-run (backfill answers over the same lake): %v", err)
			}
			g := fmt.Sprintf("%d events, %d matches, %d firings", got.Events, got.Rules[0].Matches, got.Rules[0].Firings)
			w := fmt.Sprintf("%d events, %d matches, %d firings", want.Events, want.Rules[0].Matches, want.Rules[0].Firings)
			if g != w {
				t.Errorf("backtest over a lake compacted mid-run: %s; with nobody maintaining: %s", g, w)
			}
		})
	}
}
