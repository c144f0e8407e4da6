package live_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBackfillAlertNamesTheCrossingEvent: a running total applied over history alerts
// with the record an uninterrupted run gives — the partition, offset, record time,
// context and sample of the event that took the count to the threshold — whether that
// event is in history (source backfill) or among those live counted while the job was
// held back (source live), and with a lookback, whose older history does not count.
func TestBackfillAlertNamesTheCrossingEvent(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.ArchiveRollAge = 50 * time.Millisecond
	})
	now := time.Now().UTC().Truncate(time.Millisecond)
	var history []*kgo.Record
	// produce sends n events of customers c-0…c-5 in turn, the j-th of each a failure
	// when fails(customer, j); the first half of them recorded at old, the rest at recent.
	produce := func(n int, fails func(c, j int) bool, old, recent time.Time) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			c, j := i%6, i/6
			kind, at := "ok", old.Add(time.Duration(i)*time.Millisecond)
			if fails(c, j) {
				kind = "fail"
			}
			if i >= n/2 {
				at = recent.Add(time.Duration(i) * time.Millisecond)
			}
			recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-%d", c)), Timestamp: at,
				Value: []byte(fmt.Sprintf(`{"kind":%q,"user":"u%d"}`, kind, i%7))}
		}
		history = append(history, b.Produce(t, recs...)...)
	}
	// History: customer c fails on every (c+1)-th of its 50 events: 50, 25, 17, 13, 10
	// and 9 failures.
	produce(300, func(c, j int) bool { return j%(c+1) == 0 }, now.Add(-3*time.Hour), now.Add(-10*time.Minute))
	waitCommitted(t, b, d, "history")

	release, restore := holdJobs(livetest.Group(t))
	defer restore()
	rules := []string{
		`{"id":"fails","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},"threshold":20,"alert":{"context":["$.user"]}}`,
		`{"id":"recent-fails","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},"threshold":8,"lookback":"1h","alert":{"context":["$.user"]}}`,
	}
	var parsed []*rule.Rule
	for _, js := range rules {
		r := livetest.ParseRule(t, js)
		parsed = append(parsed, r)
		b.Produce(t, livetest.Upsert(t, r))
	}
	waitActive(t, d, rules)
	// Live, while the jobs wait: 5 failures of each customer's 20 events, fewer than
	// either threshold alone, so every alert waits for history.
	produce(120, func(_, j int) bool { return j%4 == 0 }, now, now)
	waitCommitted(t, b, d, "the live events")
	release()
	poll.Until(t, 60*time.Second, "the rules live", func() bool {
		vs := d.Rules()
		return len(vs) == 2 && vs[0].Status == contract.RuleLive && vs[1].Status == contract.RuleLive
	})

	var want []string
	sources := map[string]int{}
	for _, r := range parsed {
		starts := d.StartOffsets(r.Key())
		var since time.Time
		if r.Lookback > 0 {
			v := d.Rules()[slices.IndexFunc(d.Rules(), func(v contract.RuleView) bool { return v.Key() == r.Key() })]
			since = v.UpdatedAt.Add(-time.Duration(r.Lookback))
		}
		for _, a := range crossingsOf(t, history, r, starts, since) {
			want = append(want, alertLine(a))
			sources[a.Source]++
		}
	}
	if sources[contract.SourceBackfill] == 0 || sources[contract.SourceLive] == 0 {
		t.Fatalf("expected crossings by source %v: the test needs both", sources)
	}
	var got []string
	for _, a := range livetest.Alerts(t, b.Consume(t, "alerts", len(want), 60*time.Second)) {
		got = append(got, alertLine(a))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("alerts\n%s\nwant those of an uninterrupted run\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("%d alerts, by source %v", len(got), sources)
}

// crossingsOf is the oracle: the alert of each customer whose count of r's matches
// reaches the threshold, recounted from the full event list in offset order, leaving
// out history (below starts) recorded before since.
func crossingsOf(t *testing.T, history []*kgo.Record, r *rule.Rule, starts map[int32]int64, since time.Time) []contract.Alert {
	t.Helper()
	recs := slices.Clone(history)
	slices.SortFunc(recs, func(a, b *kgo.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	doc := jsonpath.NewDocument()
	counts := map[string]int64{}
	var out []contract.Alert
	for _, rec := range recs {
		if rec.Offset < starts[rec.Partition] && rec.Timestamp.Before(since) {
			continue
		}
		if err := doc.Reset(rec.Value); err != nil {
			t.Fatal(err)
		}
		if !r.Matches(doc) {
			continue
		}
		customer := string(rec.Key)
		if counts[customer]++; counts[customer] != r.Threshold.Count() {
			continue
		}
		source := contract.SourceLive
		if rec.Offset < starts[rec.Partition] {
			source = contract.SourceBackfill
		}
		user := strings.TrimSuffix(strings.TrimPrefix(string(rec.Value), `{"kind":"fail","user":`), "}")
		out = append(out, contract.Alert{AlertID: contract.AlertID(r.Scope, r.ID, r.Version, customer, r.Threshold.Count()),
			Customer: customer, Partition: rec.Partition, Offset: rec.Offset, EventTime: rec.Timestamp, Source: source,
			Count: counts[customer], Value: float64(counts[customer]), Samples: []int64{rec.Offset},
			Context: map[string]json.RawMessage{"$.user": json.RawMessage(user)}})
	}
	return out
}

// alertLine is the fields of a running total's alert that name its crossing.
func alertLine(a contract.Alert) string {
	return fmt.Sprintf("%s %s %d/%d %s %s %d %g %v user=%s", a.AlertID, a.Customer, a.Partition, a.Offset,
		a.EventTime.UTC().Format(time.RFC3339Nano), a.Source, a.Count, a.Value, a.Samples, a.Context["$.user"])
}
