package backtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBacktestReadsARepeatedOffsetOnce: a lake file written by another tool may list
// one offset twice (the manifest checks only that files do not overlap); live reads
// the offset once, and a backtest counts it once: over offsets 0, 1, 1 of c-1's
// events, 2 events and 2 matches, no firing at a threshold of 3. (Mutation hunt:
// run.go's row.Offset <= prev -> < prev counted offset 1 twice and fired, and no
// backtest test saw it.)
func TestBacktestReadsARepeatedOffsetOnce(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []lakehouse.Row
	for i, off := range []int64{0, 1, 1} {
		rows = append(rows, lakehouse.Row{Offset: off, EventTime: at.Add(time.Duration(i) * time.Second), IngestTime: at, Customer: "c-1", Payload: `{"type":"x"}`})
	}
	bkt, _ := lakehousetest.FileBucket(t)
	lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {rows}})
	r, err := rule.ParseRule([]byte(`{"id":"plain","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":3}`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := backtest.Run(context.Background(), backtest.Config{Lake: lakehouse.NewLake(bkt, nil), Rules: []*rule.Rule{r}})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%d events, %d matches, %d firings", rep.Events, rep.Rules[0].Matches, rep.Rules[0].Firings)
	if want := "2 events, 2 matches, 0 firings"; got != want {
		t.Errorf("over offsets 0, 1, 1: %s; want %s", got, want)
	}
}
