package backtest_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testRules: a hopping windowed rule grouped by country, a plain running count, and a
// customer's tumbling sum; each fires over the generated history.
var testRules = []string{
	`{"id":"failed-by-country","scope":"*","version":2,"when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.actor.geo.country"],"window":{"size":"10m","every":"5m"},"threshold":3}`,
	`{"id":"busy","scope":"*","version":1,"when":{"path":"$.type","op":"exists"},"threshold":40}`,
	`{"id":"downloads","scope":"c-0001","version":1,"when":{"path":"$.type","op":"==","value":"file.downloaded"},
	  "aggregate":{"fn":"count"},"window":{"size":"30m"},"threshold":{"op":">","value":4}}`,
}

// lakeOf produces gen's events (and a malformed one, which the lake does not keep) on a
// 3-partition broker, archives them with the real archiver into a file lake, and
// returns the lake and the records.
func lakeOf(t *testing.T, n int) (*lakehouse.Lake, []*kgo.Record) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	recs := produceHistory(t, b, n)
	lake, _ := livetest.Archive(t, b, recs)
	return lake, recs
}

// produceHistory produces n generated events about 2.5 hours long across midnight,
// with a malformed one half-way, and returns their records.
func produceHistory(t *testing.T, b *kafkatest.Broker, n int) []*kgo.Record {
	t.Helper()
	gen := workload.New(5, workload.Config{Customers: 4, Start: time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), Step: 3 * time.Second})
	recs := make([]*kgo.Record, 0, n+1)
	for i := range n {
		ev := gen.Next()
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time})
		if i == n/2 {
			recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: []byte(`{"type":`), Timestamp: ev.Time})
		}
	}
	return b.Produce(t, recs...)
}

// eventsAfter is n events of the workload, not produced, the first a second after
// after: a later stretch of produceHistory's stream.
func eventsAfter(after time.Time, n int) []*kgo.Record {
	gen := workload.New(6, workload.Config{Customers: 4, Start: after.Add(time.Second), Step: 3 * time.Second})
	recs := make([]*kgo.Record, n)
	for i := range recs {
		ev := gen.Next()
		recs[i] = &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}
	}
	return recs
}

func parseRules(t *testing.T) []*rule.Rule {
	t.Helper()
	var rules []*rule.Rule
	for _, js := range testRules {
		r, err := rule.ParseRule([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	return rules
}

// oracle is what the backtest must say of recs: each partition's records in offset
// order, those in [from, to) and of customer (if set), through a state per rule and
// partition (window.State, or a running count for a plain rule), tallied here on its
// own.
func oracle(t *testing.T, rules []*rule.Rule, recs []*kgo.Record, from, to time.Time, customer string) map[string]contract.BacktestRule {
	t.Helper()
	set, err := rule.NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	byPart := map[int32][]*kgo.Record{}
	for _, r := range recs {
		byPart[r.Partition] = append(byPart[r.Partition], r)
	}
	out := map[string]contract.BacktestRule{}
	days := map[string]map[string]int{}
	custs := map[string]map[string]int{}
	for _, r := range rules {
		out[r.ID] = contract.BacktestRule{Scope: r.Scope, ID: r.ID, Version: r.Version}
		days[r.ID], custs[r.ID] = map[string]int{}, map[string]int{}
	}
	fire := func(r *rule.Rule, cust string, at time.Time) {
		o := out[r.ID]
		o.Firings++
		if o.FirstFiring == nil || at.Before(*o.FirstFiring) {
			o.FirstFiring = &at
		}
		if o.LastFiring == nil || at.After(*o.LastFiring) {
			o.LastFiring = &at
		}
		out[r.ID] = o
		days[r.ID][at.Format(time.DateOnly)]++
		custs[r.ID][cust]++
	}
	doc := jsonpath.NewDocument()
	m := set.NewMatcher()
	for _, p := range slices.Sorted(maps.Keys(byPart)) {
		part := byPart[p]
		slices.SortFunc(part, func(a, b *kgo.Record) int { return cmp.Compare(a.Offset, b.Offset) })
		states := map[*rule.Rule]*window.State{}
		counts := map[*rule.Rule]map[string]int64{}
		for _, rec := range part {
			at, cust := rec.Timestamp.UTC(), string(rec.Key)
			if customer != "" && cust != customer || !from.IsZero() && at.Before(from) || !to.IsZero() && !at.Before(to) {
				continue
			}
			if reason, _ := verdict.Accept(doc, rec.Key, rec.Value); reason != "" {
				continue // live dead-letters it
			}
			for _, r := range m.Match(cust, doc, nil) {
				o := out[r.ID]
				o.Matches++
				out[r.ID] = o
				if r.Plain() {
					if counts[r] == nil {
						counts[r] = map[string]int64{}
					}
					if counts[r][cust]++; counts[r][cust] == r.Threshold.Count() {
						fire(r, cust, at)
					}
					continue
				}
				if states[r] == nil {
					states[r] = window.New(r, window.Limits{})
				}
				states[r].Add(&window.Event{Customer: cust, Doc: doc, Time: at}, func(c window.Crossing) { fire(r, c.Customer, at) })
			}
		}
	}
	for id, o := range out {
		o.PerDay = []contract.BacktestCount{}
		for _, d := range slices.Sorted(maps.Keys(days[id])) {
			o.PerDay = append(o.PerDay, contract.BacktestCount{Key: d, Firings: days[id][d]})
		}
		o.Customers = []contract.BacktestCount{}
		for c, n := range custs[id] {
			o.Customers = append(o.Customers, contract.BacktestCount{Key: c, Firings: n})
		}
		slices.SortFunc(o.Customers, func(a, b contract.BacktestCount) int {
			return cmp.Or(cmp.Compare(b.Firings, a.Firings), cmp.Compare(a.Key, b.Key))
		})
		out[id] = o
	}
	return out
}

// TestBacktestMatchesOracle runs the rules over a real lake, whole and cut by customer
// and by time, and holds every figure to the oracle's.
func TestBacktestMatchesOracle(t *testing.T) {
	t.Parallel()
	lake, recs := lakeOf(t, 3000)
	rules := parseRules(t)
	first, last := recs[0].Timestamp.UTC(), recs[len(recs)-1].Timestamp.UTC()
	for _, tc := range []struct {
		name     string
		from, to time.Time
		customer string
	}{
		{name: "all"},
		{name: "one customer", customer: "c-0001"},
		{name: "a time range", from: first.Add(40 * time.Minute), to: last.Add(-30 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var progress []int64
			rep, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: rules, From: tc.from, To: tc.to,
				Customer: tc.customer, Progress: func(read, total int64) { progress = append(progress, read, total) }})
			if err != nil {
				t.Fatal(err)
			}
			want := oracle(t, rules, recs, tc.from, tc.to, tc.customer)
			if len(rep.Rules) != len(rules) {
				t.Fatalf("%d rules in the report, want %d", len(rep.Rules), len(rules))
			}
			fired := 0
			for _, got := range rep.Rules {
				t.Logf("%s: %d matches, %d firings, per day %v", got.ID, got.Matches, got.Firings, got.PerDay)
				w := want[got.ID]
				fired += got.Firings
				for _, c := range []struct {
					what      string
					got, want any
				}{
					{"matches", got.Matches, w.Matches},
					{"firings", got.Firings, w.Firings},
					{"first firing", fmtTime(got.FirstFiring), fmtTime(w.FirstFiring)},
					{"last firing", fmtTime(got.LastFiring), fmtTime(w.LastFiring)},
					{"per day", got.PerDay, w.PerDay},
					{"customers", got.Customers, w.Customers[:min(len(w.Customers), contract.BacktestTop)]},
					{"customers total", got.CustomersTotal, len(w.Customers)},
				} {
					if g, wj := mustJSON(t, c.got), mustJSON(t, c.want); g != wj {
						t.Errorf("rule %s: %s %s, want %s", got.ID, c.what, g, wj)
					}
				}
				n := 0
				for _, g := range got.Groups {
					n += g.Firings
				}
				if len(got.Groups) < contract.BacktestTop && n != got.Firings {
					t.Errorf("rule %s: groups sum to %d firings of %d", got.ID, n, got.Firings)
				}
				if got.GroupsTotal != len(got.Groups) && (got.GroupsTotal < contract.BacktestTop || len(got.Groups) != contract.BacktestTop) {
					t.Errorf("rule %s: %d groups listed of a total of %d", got.ID, len(got.Groups), got.GroupsTotal)
				}
			}
			// The cases must exercise something: each fires, and the whole history
			// crosses midnight.
			if fired == 0 || tc.name == "all" && len(rep.Rules[0].PerDay)+len(rep.Rules[1].PerDay) < 3 {
				t.Errorf("the backtest fired %d times, per day %+v: the case tests nothing", fired, rep.Rules)
			}
			// The malformed record has no row: the archiver keeps none for what live
			// dead-letters.
			if tc.name == "all" {
				if n := int64(len(recs) - 1); rep.Events != n || rep.Invalid != 0 || rep.Rows != n || rep.Files == 0 {
					t.Errorf("%d files, %d rows, %d events, %d invalid; want some, %d, %d, 0", rep.Files, rep.Rows, rep.Events, rep.Invalid, n, n)
				}
			}
			if n := len(progress); n < 2 || progress[n-2] != rep.Rows || progress[n-1] < rep.Rows {
				t.Errorf("progress %v does not end at the %d rows read", progress, rep.Rows)
			}
		})
	}
}

// TestBacktestRefusesBadConfig: no rules, and a range that ends before it starts.
func TestBacktestRefusesBadConfig(t *testing.T) {
	t.Parallel()
	bkt, _ := lakehousetest.FileBucket(t)
	lake := lakehouse.NewLake(bkt, nil)
	if _, err := backtest.Run(context.Background(), backtest.Config{Lake: lake}); !errors.Is(err, backtest.ErrNoRules) {
		t.Errorf("no rules: %v, want ErrNoRules", err)
	}
	now := time.Now()
	if _, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: parseRules(t), From: now, To: now}); err == nil {
		t.Error("from == to: no error")
	}
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBacktestIsLive is the one-verdict test: the rules applied to a live daemon before
// the events arrive raise, per rule and customer, the alerts the backtest of the
// archived events says they would have.
func TestBacktestIsLive(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	d, _ := livetest.StartLive(t, b, nil)
	rules := parseRules(t)
	var ctl []*kgo.Record
	for _, r := range rules {
		ctl = append(ctl, livetest.Upsert(t, r))
	}
	b.Produce(t, ctl...)
	poll.Until(t, 30*time.Second, "the rules to be active", func() bool {
		for _, r := range rules {
			if v, ok := d.Count(r.Key(), ""); !ok || v.Version != r.Version {
				return false
			}
		}
		return true
	})
	recs := produceHistory(t, b, 3000)
	lake, _ := livetest.Archive(t, b, recs)
	rep, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	total := 0
	for _, r := range rep.Rules {
		if r.Firings == 0 || len(r.Customers) >= contract.BacktestTop {
			t.Fatalf("rule %s: %d firings over %d customers: the test needs firings of a few customers", r.ID, r.Firings, len(r.Customers))
		}
		for _, c := range r.Customers {
			want[r.ID+" "+c.Key] = c.Firings
		}
		total += r.Firings
	}
	alerts := livetest.Alerts(t, b.Consume(t, "alerts", total, 60*time.Second))
	got := map[string]int{}
	for _, a := range alerts {
		got[a.RuleID+" "+a.Customer]++
	}
	t.Logf("live raised %d alerts over %d (rule, customer) pairs; the backtest said %d", len(alerts), len(got), total)
	if !maps.Equal(got, want) {
		t.Errorf("live raised, per rule and customer,\n%v\nthe backtest says\n%v", got, want)
	}
	// And no more than that, once live has evaluated everything.
	group := "live-" + strings.ReplaceAll(t.Name(), "/", "-") // livetest.StartLive's
	poll.Until(t, 60*time.Second, "live to commit every event", func() bool {
		return b.GroupCommitted(t, group, "events") >= int64(len(recs))
	})
	if n := b.TopicRecords(t, "alerts"); n != int64(total) {
		t.Errorf("%d alerts on the topic, the backtest says %d", n, total)
	}
}

// TestBacktestReadsKafkaTail: with brokers, the events the lake does not hold yet are
// read from Kafka after each partition's files, and the figures are the oracle's over
// all of them; without, the lake's alone; an unreachable broker is an error.
func TestBacktestReadsKafkaTail(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	recs := produceHistory(t, b, 2000)
	lake, _ := livetest.Archive(t, b, recs)
	// More events, not archived: a later stretch of the stream, and a record without
	// a customer, which live dead-letters.
	more := eventsAfter(recs[len(recs)-1].Timestamp, 1000)
	more = append(more, &kgo.Record{Topic: "events", Value: []byte(`{"type":"login.failed"}`), Timestamp: more[0].Timestamp}) // no customer
	more = b.Produce(t, more...)
	rules := parseRules(t)
	all := append(slices.Clone(recs), more...)

	rep, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: rules, Brokers: []string{b.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	want := oracle(t, rules, all, time.Time{}, time.Time{}, "")
	if rep.TailRecords != int64(len(more)) || rep.Events != int64(len(all)-2) || rep.Invalid != 1 {
		t.Errorf("%d tail records, %d events, %d invalid; want %d, %d, 1", rep.TailRecords, rep.Events, rep.Invalid, len(more), len(all)-2)
	}
	for _, got := range rep.Rules {
		w := want[got.ID]
		if got.Matches != w.Matches || got.Firings != w.Firings || mustJSON(t, got.PerDay) != mustJSON(t, w.PerDay) {
			t.Errorf("rule %s: %d matches, %d firings %s; want %d, %d %s", got.ID, got.Matches, got.Firings, mustJSON(t, got.PerDay), w.Matches, w.Firings, mustJSON(t, w.PerDay))
		}
	}
	lakeOnly, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	if lakeOnly.TailRecords != 0 || lakeOnly.Events != int64(len(recs)-1) {
		t.Errorf("without brokers: %d tail records, %d events; want 0, %d", lakeOnly.TailRecords, lakeOnly.Events, len(recs)-1)
	}
	// A broker that is not there fails the backtest, rather than leaving the tail out.
	if _, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: rules, Brokers: []string{"127.0.0.1:1"},
		KafkaOpts: []kgo.Opt{kgo.RetryTimeout(time.Second), kgo.RequestRetries(1)}}); !errors.Is(err, backtest.ErrTailUnavailable) {
		t.Errorf("unreachable broker: %v, want ErrTailUnavailable", err)
	}
}

// TestPartitionState: a windowed rule's state below an offset, read from the lake and
// the Kafka tail, encodes to the bytes of a state fed the same records directly, with
// the same crossings; history Kafka no longer holds and the lake never had is named.
func TestPartitionState(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	recs := produceHistory(t, b, 1500)
	lake, _ := livetest.Archive(t, b, recs)
	more := produceHistory(t, b, 500) // the tail: not archived
	all := append(slices.Clone(recs), more...)
	r := parseRules(t)[0]
	ends := map[int32]int64{}
	for _, rec := range all {
		ends[rec.Partition] = max(ends[rec.Partition], rec.Offset+1)
	}
	crossings := 0
	for p, end := range ends {
		for _, cut := range []int64{end / 3, end} { // inside the lake, and into the tail
			var got, want []string
			h, err := backtest.PartitionState(context.Background(), backtest.Config{Lake: lake, Brokers: []string{b.Addr}}, r, p, cut,
				func(offset int64, at time.Time, c window.Crossing) {
					got = append(got, fmt.Sprint(offset, c.Customer, c.Start, c.Value))
				})
			if err != nil || len(h.Missing) != 0 {
				t.Fatalf("partition %d below %d: %v, missing %v", p, cut, err, h)
			}
			direct := window.New(r, window.Limits{})
			var matches int64
			doc := jsonpath.NewDocument()
			var part []*kgo.Record
			for _, rec := range all {
				if rec.Partition == p && rec.Offset < cut {
					part = append(part, rec)
				}
			}
			slices.SortFunc(part, func(a, b *kgo.Record) int { return cmp.Compare(a.Offset, b.Offset) })
			for _, rec := range part {
				if reason, _ := verdict.Accept(doc, rec.Key, rec.Value); reason != "" || !r.Matches(doc) {
					continue
				}
				matches++
				direct.Add(&window.Event{Customer: string(rec.Key), Doc: doc, Time: rec.Timestamp, Offset: rec.Offset}, func(c window.Crossing) {
					want = append(want, fmt.Sprint(rec.Offset, c.Customer, c.Start, c.Value))
				})
			}
			if st := h.State; !bytes.Equal(st.AppendTo(nil), direct.AppendTo(nil)) || !slices.Equal(got, want) || h.Matches != matches {
				t.Errorf("partition %d below %d: state of %d windows, crossings %v, %d matches; direct %d windows, %v, %d matches",
					p, cut, st.WindowCount(), got, h.Matches, direct.WindowCount(), want, matches)
			}
			crossings += len(want)
		}
	}
	if crossings == 0 {
		t.Error("no crossing at all: the test tests little")
	}
	// Without brokers, the tail is missing, and said to be; crossings go nowhere.
	p, end := int32(0), ends[0]
	h, err := backtest.PartitionState(context.Background(), backtest.Config{Lake: lake}, r, p, end, nil)
	if err != nil || len(h.Missing) != 1 || h.Missing[0].To != end-1 {
		t.Errorf("without brokers: %v, %+v; want the tail up to %d missing", err, h, end-1)
	}
}

// TestBacktestRefusesALakeOfAnotherTopic: a lake's offsets are its topic's; a backtest
// (or the history of a windowed rule's hand-off) of another topic over it is an error
// naming both, as an archiver's is, not that topic's history counted as this one's.
func TestBacktestRefusesALakeOfAnotherTopic(t *testing.T) {
	t.Parallel()
	lake, _ := lakeOf(t, 200)
	if _, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: parseRules(t), Topic: "orders"}); !errors.Is(err, lakehouse.ErrTopicMismatch) ||
		!strings.Contains(err.Error(), `"events"`) || !strings.Contains(err.Error(), `"orders"`) {
		t.Errorf("backtest of topic orders over the lake of events: %v, want ErrTopicMismatch naming both", err)
	}
	if _, err := backtest.PartitionState(context.Background(), backtest.Config{Lake: lake, Topic: "orders"}, parseRules(t)[0], 0, 10, nil); !errors.Is(err, lakehouse.ErrTopicMismatch) {
		t.Errorf("partition state of topic orders over the lake of events: %v, want ErrTopicMismatch", err)
	}
	if _, err := backtest.Run(context.Background(), backtest.Config{Lake: lake, Rules: parseRules(t)}); err != nil {
		t.Errorf("backtest of the lake's own topic (the default, events): %v", err)
	}
}
