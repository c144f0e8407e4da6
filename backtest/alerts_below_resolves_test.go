package backtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestMaxAlertsBelowCountsFiringsNotResolves: MaxAlertsBelow bounds the firings
// history sends (live's MaxHistoryAlerts counts firings only), so the resolves among
// them do not bring the bound nearer. A tumbling 10 s window crossing once a window,
// resolving as the next opens, with a bound of 3: the third firing reaches it, its
// incident still resolves, and the fourth's is the first silent (no resolve). No test
// held it: counting resolves too passed every test (mutation hunt), and silenced the
// third incident, whose firing the caller sends, leaving its alert firing for good.
func TestMaxAlertsBelowCountsFiringsNotResolves(t *testing.T) {
	r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","version":1,"when":{"path":"$.type","op":"exists"},
	  "window":{"size":"10s"},"threshold":1,"alert":{"resolve":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := rule.NewSet([]*rule.Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{AlertsBelow: 100, MaxAlertsBelow: 3}
	var got []string
	run := runner{cfg: cfg, set: set, rep: &contract.Backtest{}, tally: newTally(set.Rules(), cfg.Limits, cfg.maxDays()), doc: jsonpath.NewDocument(),
		crossed: func(offset int64, _ time.Time, x window.Result) {
			kind := "fired"
			if x.Crossing.Resolved {
				kind = "resolved"
			}
			got = append(got, fmt.Sprintf("%d %s", offset, kind))
		}}
	rp := window.NewReplay(set, cfg.Limits)
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for off := range int64(6) {
		if reason, err := verdict.Accept(run.doc, []byte("c-1"), []byte(`{"type":"login.failed"}`)); reason != "" || err != nil {
			t.Fatalf("event %d refused: %q %v", off, reason, err)
		}
		if err := run.evaluate(rp, 0, off, "c-1", base.Add(time.Duration(off)*10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// Each event closes the previous window's incident, then opens its own.
	want := []string{"0 fired", "1 resolved", "1 fired", "2 resolved", "2 fired", "3 resolved", "3 fired", "4 fired", "5 fired"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("MaxAlertsBelow 3: crossings\n  %s\nwant\n  %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
}
