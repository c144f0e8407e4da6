package backtest

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestTallyDaysAreUTCDays: per_day keys are UTC days whatever the location of a record
// time (Kafka's timestamps come in the process's local zone): a firing at 01:00+05:00
// on the 2nd is one of the 1st, UTC. No test held it: dropping the UTC conversion
// passed every test (mutation hunt), the test process running in UTC.
func TestTallyDaysAreUTCDays(t *testing.T) {
	t.Parallel()
	r, err := rule.ParseRule([]byte(`{"id":"every-event","scope":"*","when":{"path":"$.id","op":"exists"},
		"window":{"size":"1m"},"threshold":1,"alert":{"suppress":"0s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := rule.NewSet([]*rule.Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	rp := window.NewReplay(set, window.Limits{})
	tl := newTally([]*rule.Rule{r}, window.Limits{}, 100)
	doc := jsonpath.NewDocument()
	if err := doc.Reset([]byte(`{"id":1}`)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 1, 0, 0, 0, time.FixedZone("UTC+5", 5*3600))
	found := rp.Add(0, "c-1", doc, at, nil)
	if len(found) != 1 {
		t.Fatalf("the replay found %d crossings; want 1", len(found))
	}
	if err := tl.fired(found[0], at); err != nil {
		t.Fatal(err)
	}
	out := tl.report()[0]
	want := contract.BacktestCount{Key: "2026-12-01", Firings: 1}
	if len(out.PerDay) != 1 || out.PerDay[0] != want {
		t.Errorf("a firing at %s is listed per day as %+v; want [%+v]", at.Format(time.RFC3339), out.PerDay, want)
	}
}
