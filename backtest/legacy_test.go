package backtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestLegacyRowsLiveRefusedAreNotEvents: a file archived before rows were checked
// (FileEntry.Checked false) keeps records as produced, keyless ones too, which live
// dead-letters (missing_key) and backfill leaves out. A backtest counts them Invalid,
// not as events of customer "", for a plain count and a windowed rule alike.
func TestLegacyRowsLiveRefusedAreNotEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if reason, _ := verdict.Accept(jsonpath.NewDocument(), nil, []byte(`{"type":"x"}`)); reason != verdict.ReasonMissingKey {
		t.Fatalf("a keyless record's verdict %q, want %q", reason, verdict.ReasonMissingKey)
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []lakehouse.Row{
		{Offset: 0, EventTime: at, IngestTime: at, Customer: "", Payload: `{"type":"x"}`},
		{Offset: 1, EventTime: at.Add(time.Second), IngestTime: at, Customer: "", Payload: `{"type":"x"}`},
		{Offset: 2, EventTime: at.Add(2 * time.Second), IngestTime: at, Customer: "c-1", Payload: `{"type":"x"}`},
	}
	bkt, _ := lakehousetest.FileBucket(t)
	lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {rows}})
	lake := lakehouse.NewLake(bkt, nil)
	for _, js := range []string{
		`{"id":"plain","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`,
		`{"id":"windowed","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"window":{"size":"1m"},"threshold":1}`,
	} {
		r, err := rule.ParseRule([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := backtest.Run(ctx, backtest.Config{Lake: lake, Rules: []*rule.Rule{r}})
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%d events, %d invalid, %d matches, %d firings", rep.Events, rep.Invalid, rep.Rules[0].Matches, rep.Rules[0].Firings)
		if want := "1 events, 2 invalid, 1 matches, 1 firings"; got != want {
			t.Errorf("rule %s: %s; want %s (c-1's event alone)", r.ID, got, want)
		}
	}
}
