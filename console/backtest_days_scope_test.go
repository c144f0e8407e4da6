package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
)

// TestBacktestDaysBoundAndScope: days may be the largest it says (MaxBacktestDays),
// which covers the whole history here, and one more is a 400 naming the range; a draft
// of one customer's scope is answered for that customer (the report names it) and
// counts only that customer's firings.
func TestBacktestDaysBoundAndScope(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	recs := produceBacktestHistory(t, d)
	wantFirings, wantMatches := backtestOracle(t, recs, time.Time{})

	var rep contract.Backtest
	body := draft(backtestRule)
	body["days"] = console.MaxBacktestDays
	if resp := call(t, "POST", d.url("/v1/console/backtest"), "", body, &rep); resp.StatusCode != 200 || len(rep.Rules) != 1 {
		t.Fatalf("days %d: status %d, %d rules", console.MaxBacktestDays, resp.StatusCode, len(rep.Rules))
	}
	if got := rep.Rules[0]; got.Firings != wantFirings || got.Matches != wantMatches {
		t.Errorf("days %d: %d firings, %d matches; want the whole history's %d, %d", console.MaxBacktestDays, got.Firings, got.Matches, wantFirings, wantMatches)
	}
	body["days"] = console.MaxBacktestDays + 1
	var e contract.ErrorResponse
	want := fmt.Sprintf("days must be from 0 (the whole lake) to %d", console.MaxBacktestDays)
	if resp := call(t, "POST", d.url("/v1/console/backtest"), "", body, &e); resp.StatusCode != 400 || e.Error != want {
		t.Errorf("days %d: %d %q, want 400 %q", console.MaxBacktestDays+1, resp.StatusCode, e.Error, want)
	}

	var c1 []*kgo.Record
	for _, r := range recs {
		if string(r.Key) == "c-1" {
			c1 = append(c1, r)
		}
	}
	wantFirings, wantMatches = backtestOracle(t, c1, time.Time{})
	scoped := draft(strings.Replace(backtestRule, `"scope":"*"`, `"scope":"c-1"`, 1))
	rep = contract.Backtest{}
	if resp := call(t, "POST", d.url("/v1/console/backtest"), "", scoped, &rep); resp.StatusCode != 200 || len(rep.Rules) != 1 {
		t.Fatalf("scope c-1: status %d, %d rules", resp.StatusCode, len(rep.Rules))
	}
	if got := rep.Rules[0]; rep.Customer != "c-1" || got.Firings != wantFirings || got.Matches != wantMatches {
		t.Errorf("scope c-1: customer %q, %d firings, %d matches; want c-1, %d, %d", rep.Customer, got.Firings, got.Matches, wantFirings, wantMatches)
	}
}
