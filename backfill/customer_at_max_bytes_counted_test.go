package backfill

import (
	"context"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestCustomerOfExactlyMaxBytesIsCounted: max_customer_bytes is the longest customer id
// accepted (verdict.Accept refuses a longer one only), so a lake row whose customer is
// exactly that long is counted by a backfill, as live and backtests count it; one byte
// longer, by none.
func TestCustomerOfExactlyMaxBytesIsCounted(t *testing.T) {
	t.Parallel()
	bkt := lakehouse.NewMemBucket()
	exact := strings.Repeat("e", rule.CurrentMaxCustomerBytes())
	long := strings.Repeat("l", rule.CurrentMaxCustomerBytes()+1)
	lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {
		lakehousetest.LegacyRows(0, exact, `{"a":"admin"}`, `{"a":"admin"}`),
		lakehousetest.LegacyRows(2, long, `{"a":"admin"}`),
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
	if n, ok := res.Counts[exact]; !ok || n != 2 || len(res.Counts) != 1 {
		t.Errorf("backfill counts the customer of exactly %d bytes %d (%d customers counted), want 2 and that one customer alone",
			len(exact), n, len(res.Counts))
	}
	h, err := backtest.PartitionState(context.Background(), backtest.Config{Lake: lake}, r, 0, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Matches != 2 {
		t.Errorf("backtest over the same lake matches %d, want 2", h.Matches)
	}
}
