package backtest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBacktestOverReplacedFileWithFewerRows: a listed lake file replaced by another
// valid archive Parquet file of the same byte size holding fewer rows (a restore from
// the wrong backup) is read without error: the backtest counts the one row left of the
// file's twenty, and its report still says it read every row the manifest lists
// (Rows), with nothing in Missing. Compaction's reader refuses such a file ("rows,
// manifest says"); the backtest should fail naming it.
func TestBacktestOverReplacedFileWithFewerRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, typed := range []bool{false, true} {
		t.Run(fmt.Sprintf("typed=%v", typed), func(t *testing.T) {
			t.Parallel()
			var cols *lakehouse.ColumnSet
			if typed {
				cols = lakehouse.NewColumnSet(4)
				if err := cols.Set([]string{"$.type"}); err != nil {
					t.Fatal(err)
				}
			}
			bkt, _ := lakehousetest.FileBucket(t)
			names := slices.Sorted(func(yield func(string) bool) {
				for n := range lakehousetest.SmallFilesLake(t, bkt, 1, 3, 20, cols) {
					if !yield(n) {
						return
					}
				}
			})
			lake := lakehouse.NewLake(bkt, nil)
			snap, err := lake.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var victim lakehouse.FileEntry
			for _, f := range snap.Files(lakehouse.Filter{}) {
				if f.Path == names[1] {
					victim = f
				}
			}
			hour := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			one := []lakehouse.Row{{Partition: 0, Offset: victim.StartOffset, EventTime: hour.Add(20 * time.Second), IngestTime: hour,
				Customer: "c0", Payload: fmt.Sprintf(`{"type":"login","n":%d}`, victim.StartOffset)}}
			repl, _, err := lakehouse.EncodeRows(0, victim.StartOffset, one, cols, true)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(repl)) >= victim.Bytes {
				t.Fatalf("replacement of %d bytes is not smaller than the %d listed", len(repl), victim.Bytes)
			}
			footer := int(binary.LittleEndian.Uint32(repl[len(repl)-8:]))
			cut := len(repl) - 8 - footer
			padded := slices.Concat(repl[:cut], make([]byte, int(victim.Bytes)-len(repl)), repl[cut:])
			if err := bkt.Put(ctx, victim.Path, bytes.NewReader(padded)); err != nil {
				t.Fatal(err)
			}

			r, err := rule.ParseRule([]byte(`{"id":"logins","scope":"*","version":1,"threshold":1000000,"when":{"path":"$.type","op":"==","value":"login"}}`))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := backtest.Run(ctx, backtest.Config{Lake: lake, Rules: []*rule.Rule{r}})
			if err != nil {
				t.Logf("refused: %v", err)
				return
			}
			t.Errorf("backtest over a listed file holding 1 row where the manifest lists 20: no error; events %d, matches %d, rows %d, missing %v (the lake lists 60 events)",
				rep.Events, rep.Rules[0].Matches, rep.Rows, rep.Missing)
		})
	}
}
