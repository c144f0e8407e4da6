package console_test

import (
	"time"

	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/live"
)

// TestBacktestTakesTheDaemonsMaxHistoryDays: the console's backtest lists the days the
// daemon's --max-history-days keeps, as a hand-off's history does, and counts the
// firings of earlier days in per_day_cut. It took backtest's default (3,660) whatever
// the daemon's flag said, so the two charts of one rule cut differently.
func TestBacktestTakesTheDaemonsMaxHistoryDays(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a daemon with its archive and a backfill of three days: make test runs it")
	}
	d := startDaemonWith(t, "", func(c *live.Config) { c.MaxHistoryDays = 2 })
	recs := produceBacktestHistory(t, d)
	wantFirings, _ := backtestOracle(t, recs, time.Time{})

	var rep contract.Backtest
	if resp := call(t, "POST", d.url("/v1/console/backtest"), "", draft(backtestRule), &rep); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if len(rep.Rules) != 1 {
		t.Fatalf("%d rules in %+v", len(rep.Rules), rep)
	}
	got := rep.Rules[0]
	listed := 0
	for _, c := range got.PerDay {
		listed += c.Firings
	}
	// Three days fire (backtestHistory): the latest two are listed, the first cut.
	if len(got.PerDay) != 2 || got.PerDayCut == 0 || listed+got.PerDayCut != wantFirings || got.Firings != wantFirings {
		t.Errorf("per_day %+v, per_day_cut %d, firings %d; want the latest 2 of 3 days listed under --max-history-days 2, the first day's firings cut, %d in all",
			got.PerDay, got.PerDayCut, got.Firings, wantFirings)
	}
}
