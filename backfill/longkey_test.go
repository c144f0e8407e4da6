package backfill

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestLongCustomerKeysOfOldFilesCountNowhere: a row of an older (unchecked) lake file
// whose customer is longer than max_customer_bytes is a record live dead-letters
// (verdict.Accept: key_too_long), and backtests and the console's preview skip it; a
// backfill counted it (3 matches where backtest found 1). A file written under a larger
// --max-customer-bytes holds such rows too, read by the same query.
func TestLongCustomerKeysOfOldFilesCountNowhere(t *testing.T) {
	t.Parallel()
	bkt := lakehouse.NewMemBucket()
	long := strings.Repeat("c", rule.CurrentMaxCustomerBytes()+1)
	lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {
		lakehousetest.LegacyRows(0, "c-1", `{"a":"admin"}`),
		lakehousetest.LegacyRows(1, long, `{"a":"admin"}`, `{"a":"admin"}`),
	}})
	lake := lakehouse.NewLake(bkt, nil)
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	r := VerdictRules(t)[0] // $.a == "admin"
	res, err := runner.Run(context.Background(), Job{Rule: r, Start: map[int32]int64{0: 3}})
	if err != nil {
		t.Fatal(err)
	}
	doc := jsonpath.NewDocument()
	want := map[string]int64{}
	for _, c := range []string{"c-1", long, long} {
		if goVerdict(doc, c, []byte(`{"a":"admin"}`), r) {
			want[c]++
		}
	}
	// backtest (and so live's hand-off replay, and the console) over the same lake.
	h, err := backtest.PartitionState(context.Background(), backtest.Config{Lake: lake}, r, 0, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	var backfilled int64
	for _, n := range res.Counts {
		backfilled += n
	}
	if backfilled != h.Matches {
		t.Errorf("over the same legacy file, backfill counts %d matches, backtest %d", backfilled, h.Matches)
	}
	if !maps.Equal(res.Counts, want) {
		got := map[string]int64{}
		for c, n := range res.Counts {
			got[fmt.Sprintf("%.8s (%d bytes)", c, len(c))] = n
		}
		t.Errorf("backfill counts %v over a legacy file; live's verdict (verdict.Accept + rule) %v", got, want)
	}
}
