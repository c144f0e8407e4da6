package console_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// backtestRule fires per customer and hour with three failed logins.
const backtestRule = `{"id":"hourly-failures","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	"window":{"size":"1h"},"threshold":3}`

// backtestHistory is events of three past UTC days: each day c-1 fails four logins
// in an hour (a firing a day), c-2 three on the second day (one more), and ok events
// and scattered failures around them that fire nothing.
func backtestHistory() []event {
	rng := rand.New(rand.NewPCG(5, 8))
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(-72 * time.Hour)
	var evs []event
	for day := range 3 {
		noon := base.Add(time.Duration(day)*24*time.Hour + 12*time.Hour)
		for i := range 4 {
			evs = append(evs, event{customer: "c-1", typ: "login.failed", at: noon.Add(time.Duration(i) * time.Minute)})
		}
		if day == 1 {
			for i := range 3 {
				evs = append(evs, event{customer: "c-2", typ: "login.failed", at: noon.Add(time.Duration(10+i) * time.Minute)})
			}
		}
		for i := range 60 {
			typ := "login.ok"
			if i%20 == 0 {
				typ = "login.failed"
			}
			at := noon.Add(-6*time.Hour + time.Duration(i)*11*time.Minute + 30*time.Second)
			evs = append(evs, event{customer: fmt.Sprintf("c-%d", rng.IntN(3)), typ: typ, at: at})
		}
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	return evs
}

// produceBacktestHistory produces backtestHistory into d's broker, waits until d's lake
// holds it, and returns the records.
func produceBacktestHistory(t *testing.T, d *daemon) []*kgo.Record {
	t.Helper()
	evs := backtestHistory()
	recs := make([]*kgo.Record, len(evs))
	for i, e := range evs {
		recs[i] = e.record()
	}
	recs = d.b.Produce(t, recs...)
	d.waitLake(t, int64(len(evs)))
	return recs
}

// backtestOracle is what an uninterrupted live run would have raised over the events
// at or after from: the alert ids and the matches.
func backtestOracle(t *testing.T, recs []*kgo.Record, from time.Time) (firings int, matches int64) {
	t.Helper()
	var in []*kgo.Record
	doc := jsonpath.NewDocument()
	r := livetest.ParseRule(t, backtestRule)
	for _, rec := range recs {
		if rec.Timestamp.Before(from) {
			continue
		}
		in = append(in, rec)
		if doc.Reset(rec.Value) == nil && r.Matches(doc) {
			matches++
		}
	}
	ids, _, err := livetest.WindowReplay(in, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(ids), matches
}

// TestBacktestEndpoint: POST /v1/console/backtest answers how often a draft would have
// fired over the lake, as an uninterrupted live run would have: over the whole lake and
// over the last day; a draft with a mistake gets its positioned problems, and days out
// of range a 400.
func TestBacktestEndpoint(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	recs := produceBacktestHistory(t, d)

	for _, days := range []int{0, 1} {
		var from time.Time
		if days > 0 {
			from = time.Now().Add(-24 * time.Hour)
		}
		wantFirings, wantMatches := backtestOracle(t, recs, from)
		var rep contract.Backtest
		body := draft(backtestRule)
		body["days"] = days
		if resp := call(t, "POST", d.url("/v1/console/backtest"), "", body, &rep); resp.StatusCode != 200 {
			t.Fatalf("days %d: status %d", days, resp.StatusCode)
		}
		if len(rep.Rules) != 1 {
			t.Fatalf("days %d: %d rules in %+v", days, len(rep.Rules), rep)
		}
		got := rep.Rules[0]
		perDay := 0
		for _, c := range got.PerDay {
			perDay += c.Firings
		}
		if got.Firings != wantFirings || got.Matches != wantMatches || perDay != wantFirings {
			t.Errorf("days %d: %d firings (%d per day), %d matches; an uninterrupted run: %d firings, %d matches", days, got.Firings, perDay, got.Matches, wantFirings, wantMatches)
		}
		if days == 0 && (wantFirings < 4 || len(got.PerDay) != 3) {
			t.Errorf("the whole lake: %d firings over %d days: the test wants at least 4, on each of 3 days", wantFirings, len(got.PerDay))
		}
		if days == 1 && rep.From == nil {
			t.Errorf("the last day: no from in the report")
		}
	}

	var bad struct {
		Problems []struct{ Field string } `json:"problems"`
	}
	if resp := call(t, "POST", d.url("/v1/console/backtest"), "", draft(strings.Replace(backtestRule, `"1h"`, `"1q"`, 1)), &bad); resp.StatusCode != 422 ||
		len(bad.Problems) == 0 || !strings.HasPrefix(bad.Problems[0].Field, "window") {
		t.Errorf("a bad window: status %d, problems %+v; want 422 naming window", resp.StatusCode, bad.Problems)
	}
	body := draft(backtestRule)
	body["days"] = -1
	var e contract.ErrorResponse
	if resp := call(t, "POST", d.url("/v1/console/backtest"), "", body, &e); resp.StatusCode != 400 || !strings.Contains(e.Error, "days") {
		t.Errorf("days -1: status %d %q", resp.StatusCode, e.Error)
	}
}
