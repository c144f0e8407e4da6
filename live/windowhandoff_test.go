package live_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
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

// windowHandoffRules are applied mid-stream: a hopping count with lateness, a
// count_distinct and a max, over events whose times run up to 20 s behind (late ones
// around the start offsets too).
var windowHandoffRules = []string{
	`{"id":"burst","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},"group_by":["$.user"],
	  "window":{"size":"1m","every":"20s"},"time":"$.ts","lateness":"10s","threshold":4}`,
	`{"id":"spread","scope":"*","version":1,"when":{"path":"$.kind","op":"exists"},"group_by":["$.user"],
	  "aggregate":{"fn":"count_distinct","path":"$.ip"},"window":{"size":"2m"},"time":"$.ts","lateness":"15s","threshold":5}`,
	`{"id":"peak","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"ok"},
	  "aggregate":{"fn":"max","path":"$.v"},"window":{"size":"30s"},"time":"$.ts","threshold":{"op":">","value":97}}`,
}

// TestWindowedHandoff is the differential test of the windowed hand-off: rules applied
// after a random number of events (seeds: hand-offs inside open windows, with late
// events around the start) are handed their history (the lake, the Kafka tail), buffer
// what they match meanwhile, and end with the open windows of an uninterrupted run from
// the first event; their alerts are exactly the uninterrupted run's at offsets from
// their start, no history alert is sent, and every rule is live.
func TestWindowedHandoff(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { testWindowedHandoff(t, seed) })
	}
}

func testWindowedHandoff(t *testing.T, seed uint64) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	// The hand-off jobs wait until the events after the rules have come, so that the
	// buffers hold them all: an uninterrupted run's verdict must come out of that too.
	release, restore := holdJobs(livetest.Group(t))
	defer restore()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.ArchiveRollAge = 200 * time.Millisecond
	})
	rng := rand.New(rand.NewPCG(11, seed))
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	before := 300 + rng.IntN(2500)
	var history []*kgo.Record
	produce := func(n int) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			k := len(history) + i
			at := base.Add(time.Duration(k) * 500 * time.Millisecond)
			ts := at.Add(-time.Duration(rng.IntN(20_000)) * time.Millisecond)
			kind := []string{"fail", "ok", "ok"}[rng.IntN(3)]
			js := fmt.Sprintf(`{"kind":%q,"user":"u%d","ip":"10.0.0.%d","v":%d,"ts":%q}`, kind, rng.IntN(6), rng.IntN(9), rng.IntN(100), ts.Format(time.RFC3339Nano))
			recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-%d", rng.IntN(4))), Value: []byte(js), Timestamp: at}
		}
		history = append(history, b.Produce(t, recs...)...)
	}
	produce(before)
	waitCommitted(t, b, d, "the first events")

	var ctl []*kgo.Record
	rules := make([]string, len(windowHandoffRules))
	for i, js := range windowHandoffRules {
		r := livetest.ParseRule(t, js)
		ctl = append(ctl, livetest.Upsert(t, r))
		rules[i] = r.ID
	}
	b.Produce(t, ctl...)
	waitActive(t, d, windowHandoffRules)
	// Events while the history is computed: they are buffered, then evaluated.
	for range 4 {
		produce(250)
	}
	waitCommitted(t, b, d, "every event")
	// Held back, the jobs show in each rule's view: backfilling, per partition.
	for _, v := range d.Rules() {
		if v.Status != contract.RuleBackfilling || len(v.Backfill) == 0 {
			t.Errorf("rule %s while its history is computed: status %s, %d partitions backfilling", v.ID, v.Status, len(v.Backfill))
		}
	}
	release()
	poll.Until(t, 60*time.Second, "every rule live (hand-offs done)", func() bool {
		vs := d.Rules()
		for _, v := range vs {
			if v.Status != contract.RuleLive {
				return false
			}
		}
		return len(vs) == len(windowHandoffRules)
	})

	var want []string
	windows := 0
	for _, js := range windowHandoffRules {
		r := livetest.ParseRule(t, js)
		starts := d.StartOffsets(r.Key())
		if slices.Max(append(slices.Collect(maps.Values(starts)), 0)) == 0 {
			t.Fatalf("rule %s starts at %v: the test needs history below its start", r.Key(), starts)
		}
		ids, open, err := livetest.WindowHandoffReplay(history, r, starts)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, slices.Collect(maps.Keys(ids))...)
		all, _, err := livetest.WindowReplay(history, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		// History's crossings are the rule's backtest, not alerts.
		checkRuleHistory(t, d, history, r, starts, len(all)-len(ids), false)
		got, _ := d.Counts(r.Key())
		windows += livetest.CheckOpenWindows(t, "rule "+r.Key().String(), livetest.OpenWindows(got), open)
	}
	slices.Sort(want)
	if windows == 0 || len(want) == 0 {
		t.Fatalf("%d open windows, %d alerts owed: the test shows nothing", windows, len(want))
	}
	recs := b.Consume(t, "alerts", len(want), 60*time.Second)
	// No more than those: every event is evaluated and every hand-off applied.
	if n := b.TopicRecords(t, "alerts"); n != int64(len(want)) {
		t.Errorf("%d alerts on the topic, want %d", n, len(want))
	}
	var got []string
	for _, a := range livetest.Alerts(t, recs) {
		got = append(got, a.AlertID)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("alert ids\n%v\nwant\n%v", got, want)
	}
	t.Logf("%d events, rules %v applied after %d: %d open windows and %d alerts as an uninterrupted run's", len(history), rules, before, windows, len(want))
}

// TestWindowedHandoffBufferLimit: with a hand-off buffer too small for one event, each
// windowed version gives up its history at its first matched event, counts from there
// (as a replay from that offset does), and its rule view says what is missing and why,
// with status error; the limit shows in /metrics.
func TestWindowedHandoffBufferLimit(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	// The hand-off jobs wait until the events after the rule have come: they are
	// buffered, and the first one matched is beyond the limit.
	release, restore := holdJobs(livetest.Group(t))
	defer restore()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.HandoffBufferBytes = 1
	})
	var history []*kgo.Record
	produce := func(n int) { produceFailures(t, b, &history, n, 5, 3) }
	produce(300)
	waitCommitted(t, b, d, "the first events")
	r := livetest.ParseRule(t, windowHandoffRules[0])
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, windowHandoffRules[:1])
	produce(300)
	waitCommitted(t, b, d, "every event")
	release()

	var view contract.RuleView
	poll.Until(t, 30*time.Second, "the rule to say its history is missing", func() bool {
		for _, v := range d.Rules() {
			if v.ID == r.ID {
				view = v
			}
		}
		return view.Status == contract.RuleError && len(view.Incomplete) > 0
	})
	from := map[int32]int64{}
	for _, m := range view.Incomplete {
		if m.From != 0 || !strings.Contains(m.Reason, "max_handoff_buffer_bytes") {
			t.Errorf("missing range %+v: want one from 0 naming the limit", m)
		}
		from[m.Partition] = m.To + 1
	}
	_, open, err := livetest.WindowReplay(history, r, from)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := d.Counts(r.Key())
	have := livetest.OpenWindows(got)
	if len(open) == 0 || !maps.EqualFunc(have, open, slices.Equal) {
		t.Errorf("open windows\n%v\nreplay from %v\n%v", have, from, open)
	}
	if m := livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics"); !strings.Contains(m, `hindsight_limit_reached_total{name="max_handoff_buffer_bytes"}`) ||
		!strings.Contains(m, `hindsight_limit{name="max_handoff_buffer_bytes"} 1`) {
		t.Errorf("/metrics does not show the hand-off buffer limit reached")
	}
}

// TestWindowedHandoffAcrossRestart: the daemon stops while windowed versions' history
// is still being computed (their jobs held back), with events buffered; the next one
// restores the snapshot, computes the history up to its resume offset, owes the
// crossings from the versions' start, and ends, alerts and open windows, as an
// uninterrupted run.
func TestWindowedHandoffAcrossRestart(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	state, group := "file://"+t.TempDir(), "handoff-restart"
	_, restore := holdJobs(group) // never released: the first daemon's jobs end with it
	cfg := func(c *live.Config) {
		c.Group, c.StateURL = group, state
		c.NoBackfill = false
		c.SnapshotInterval = 100 * time.Millisecond
	}
	first, stop := livetest.StartLive(t, b, cfg)
	rng := rand.New(rand.NewPCG(12, 4))
	var history []*kgo.Record
	produce := func(n int) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(len(history)+i) * 700 * time.Millisecond)
			ts := at.Add(-time.Duration(rng.IntN(15_000)) * time.Millisecond)
			js := fmt.Sprintf(`{"kind":%q,"user":"u%d","ip":"10.0.0.%d","v":%d,"ts":%q}`, []string{"fail", "ok"}[rng.IntN(2)], rng.IntN(5), rng.IntN(7), rng.IntN(100), ts.Format(time.RFC3339Nano))
			recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-%d", rng.IntN(5))), Value: []byte(js), Timestamp: at}
		}
		history = append(history, b.Produce(t, recs...)...)
	}
	produce(1200)
	waitCommitted(t, b, first, "the first events")
	var rules []*rule.Rule
	for _, js := range windowHandoffRules[:2] {
		r := livetest.ParseRule(t, js)
		rules = append(rules, r)
		b.Produce(t, livetest.Upsert(t, r))
	}
	waitActive(t, first, windowHandoffRules[:2])
	produce(400) // buffered by the first daemon, whose jobs never run
	waitCommitted(t, b, first, "the buffered events")
	for _, v := range first.Rules() {
		if v.Status != contract.RuleBackfilling {
			t.Fatalf("rule %s is %s before the restart, want backfilling", v.ID, v.Status)
		}
	}
	stop() // the shutdown snapshot keeps the versions pending
	<-first.Done()
	restore()

	second, _ := livetest.StartLive(t, b, cfg)
	produce(300)
	waitCommitted(t, b, second, "every event")
	poll.Until(t, 60*time.Second, "every rule live (hand-offs done)", func() bool {
		for _, v := range second.Rules() {
			if v.Status != contract.RuleLive {
				return false
			}
		}
		return len(second.Rules()) == len(rules)
	})
	var want []string
	for _, r := range rules {
		starts := second.StartOffsets(r.Key())
		ids, open, err := livetest.WindowHandoffReplay(history, r, starts)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, slices.Collect(maps.Keys(ids))...)
		got, _ := second.Counts(r.Key())
		if have := livetest.OpenWindows(got); !maps.EqualFunc(have, open, slices.Equal) {
			t.Errorf("rule %s: open windows\n%v\nuninterrupted replay\n%v", r.Key(), have, open)
		}
	}
	slices.Sort(want)
	if len(want) == 0 {
		t.Fatal("no alert owed: the test shows nothing")
	}
	var got []string
	for _, a := range livetest.Alerts(t, b.Consume(t, "alerts", len(want), 60*time.Second)) {
		got = append(got, a.AlertID)
	}
	slices.Sort(got)
	if got = slices.Compact(got); !slices.Equal(got, want) {
		t.Errorf("alert ids\n%v\nwant\n%v", got, want)
	}
	t.Logf("%d events; %d alerts owed from the rules' start, across a restart while their history was pending", len(history), len(want))
}

// waitActive waits until d evaluates the rules given (as JSON): events produced after
// it returns are evaluated with them.
func waitActive(t *testing.T, d *live.Daemon, rules []string) {
	t.Helper()
	poll.Until(t, 30*time.Second, "the rules to be active", func() bool {
		for _, js := range rules {
			if _, ok := d.Count(livetest.ParseRule(t, js).Key(), ""); !ok {
				return false
			}
		}
		return true
	})
}

// TestWindowedHandoffHistoryAlerts: with backfill: {alert: true}, the crossings of the
// history handed over are sent too (source backfill), with the ids an uninterrupted
// run gives; those from the start are sent as live's.
func TestWindowedHandoffHistoryAlerts(t *testing.T) {
	// Not parallel: it sets the package's hand-off job hook.
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.NoBackfill = false })
	var history []*kgo.Record
	produce := func(n int) { produceFailures(t, b, &history, n, 3, 4) }
	produce(400)
	waitCommitted(t, b, d, "the first events")
	js := strings.Replace(windowHandoffRules[0], `"threshold":4}`, `"threshold":4,"backfill":{"alert":true}}`, 1)
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	produce(200)
	waitCommitted(t, b, d, "every event")
	poll.Until(t, 30*time.Second, "the rule live", func() bool {
		vs := d.Rules()
		return len(vs) == 1 && vs[0].Status == contract.RuleLive
	})
	starts := d.StartOffsets(r.Key())
	all, _, err := livetest.WindowReplay(history, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromStart, _, err := livetest.WindowHandoffReplay(history, r, starts)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromStart) == 0 || len(all) == len(fromStart) {
		t.Fatalf("%d alerts in all, %d from the start: the test needs both", len(all), len(fromStart))
	}
	got := map[string]string{}
	for _, a := range livetest.Alerts(t, b.Consume(t, "alerts", len(all), 60*time.Second)) {
		got[a.AlertID] = a.Source
		if want := contract.SourceLive; a.Offset < starts[a.Partition] {
			want = contract.SourceBackfill
			if a.Source != want {
				t.Errorf("alert at partition %d offset %d (start %d): source %q, want %q", a.Partition, a.Offset, starts[a.Partition], a.Source, want)
			}
		} else if a.Source != want {
			t.Errorf("alert at partition %d offset %d (start %d): source %q, want %q", a.Partition, a.Offset, starts[a.Partition], a.Source, want)
		}
	}
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(all))) {
		t.Errorf("alert ids\n%v\nwant an uninterrupted run's\n%v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(all)))
	}
	// The rule view's backtest from the hand-off: history's crossings, sent.
	checkRuleHistory(t, d, history, r, starts, len(all)-len(fromStart), true)
}

// checkRuleHistory checks r's rule view's history: the partitions of starts, the events
// of history below them r matches, firings crossings (with, for a windowed or grouped
// rule, their first and last record times and days), and whether they were sent.
func checkRuleHistory(t *testing.T, d *live.Daemon, history []*kgo.Record, r *rule.Rule, starts map[int32]int64, firings int, alerted bool) {
	t.Helper()
	var matches int64
	doc := jsonpath.NewDocument()
	for _, rec := range history {
		if rec.Offset < starts[rec.Partition] && doc.Reset(rec.Value) == nil && r.Matches(doc) {
			matches++
		}
	}
	var parts []int32 // those with history: a hand-off runs below a start above 0
	for p, s := range starts {
		if s > 0 {
			parts = append(parts, p)
		}
	}
	slices.Sort(parts)
	i := slices.IndexFunc(d.Rules(), func(v contract.RuleView) bool { return v.Key() == r.Key() })
	if i < 0 || d.Rules()[i].History == nil {
		t.Fatalf("rule %s: no view, or no history in it", r.Key())
	}
	h := d.Rules()[i].History
	days := 0
	for _, c := range h.PerDay {
		days += c.Firings
	}
	days += h.PerDayCut // firings of days past --max-history-days
	if r.Plain() {
		days = firings // a running total's crossing has no time, and no day
	}
	if !slices.Equal(h.Partitions, parts) || h.Matches != matches || h.Firings != firings || days != firings || h.Alerted != alerted {
		t.Errorf("rule %s: history %+v: want partitions %v, %d matches, %d firings (per day too), alerted %v", r.Key(), h, parts, matches, firings, alerted)
	}
	if !r.Plain() && firings > 0 && (h.FirstFiring == nil || h.LastFiring == nil || h.LastFiring.Before(*h.FirstFiring)) {
		t.Errorf("history %+v: first and last firing missing or out of order", h)
	}
}

// holdJobs holds every hand-off job of the daemons in consumer group back until
// release (or its end); restore lets them run freely again.
func holdJobs(group string) (release, restore func()) {
	ch := make(chan struct{})
	restore = live.SetJobHook(group, func(ctx context.Context) {
		select {
		case <-ch:
		case <-ctx.Done():
		}
	})
	return sync.OnceFunc(func() { close(ch) }), restore
}

// produceFailures produces n failed-login events, a second apart from 2026-03-01T12:00Z
// (after those already in *history), of customers c-0… and users u0… in turn (so many
// of each), and appends their records to *history.
func produceFailures(t *testing.T, b *kafkatest.Broker, history *[]*kgo.Record, n, customers, users int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(len(*history)+i) * time.Second)
		recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("c-%d", i%customers)), Timestamp: at,
			Value: []byte(fmt.Sprintf(`{"kind":"fail","user":"u%d","ts":%q}`, i%users, at.Format(time.RFC3339)))}
	}
	*history = append(*history, b.Produce(t, recs...)...)
}
