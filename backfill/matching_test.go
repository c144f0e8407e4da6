package backfill_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// matchingIn is backtest.Config.Matching as the live daemon sets it: backfill's
// MatchingRows over lake; n, when set, counts what it read.
func matchingIn(lake *lakehouse.Lake, cache string, n *readCounts) func(r *rule.Rule) (backtest.MatchingRows, error) {
	return func(r *rule.Rule) (backtest.MatchingRows, error) {
		m, err := backfill.NewMatchingRows(r, lake, cache, 0)
		if m == nil || err != nil {
			return nil, err
		}
		return countingRows{m, n}, nil
	}
}

// readCounts are the files MatchingRows read, and the rows it gave with values and
// with payloads.
type readCounts struct{ files, values, payloads atomic.Int64 }

type countingRows struct {
	*backfill.MatchingRows
	n *readCounts
}

func (c countingRows) Read(ctx context.Context, f lakehouse.FileEntry, end int64, fn func(int64, string, time.Time, string, func(*jsonpath.Path) jsonpath.Value) error) error {
	if c.n == nil {
		return c.MatchingRows.Read(ctx, f, end, fn)
	}
	c.n.files.Add(1)
	return c.MatchingRows.Read(ctx, f, end, func(off int64, cust string, at time.Time, payload string, values func(*jsonpath.Path) jsonpath.Value) error {
		if values != nil {
			c.n.values.Add(1)
		} else {
			c.n.payloads.Add(1)
		}
		return fn(off, cust, at, payload, values)
	})
}

// matchingRules are windowed rules whose state takes values of every kind: strings,
// numbers, booleans and an object as groups, sums and averages, distinct strings and
// numbers, an event time in the payload, none at all; and alert contexts of strings,
// numbers, booleans, an array and a path no event has.
var matchingRules = []string{
	`{"id":"by-country","scope":"*","version":1,"when":{"all":[{"path":"$.type","op":"==","value":"login.failed"},
		{"path":"$.severity","op":">=","value":2}]},"group_by":["$.actor.geo.country"],"window":{"size":"10m","every":"5m"},"threshold":3,
		"alert":{"context":["$.actor.email","$.risk.score","$.session.mfa","$.nowhere"]}}`,
	`{"id":"by-severity-mfa","scope":"*","version":1,"when":{"path":"$.type","op":"in","value":["login.failed","file.viewed"]},
		"group_by":["$.severity","$.session.mfa"],"window":{"size":"15m"},"threshold":4}`,
	`{"id":"by-geo-object","scope":"*","version":1,"when":{"path":"$.outcome","op":"==","value":"failure"},
		"group_by":["$.actor.geo"],"window":{"size":"30m"},"threshold":3,"alert":{"context":["$.actor.roles","$.ip"]}}`,
	`{"id":"bytes","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"file.downloaded"},
		"aggregate":{"fn":"sum","path":"$.bytes"},"window":{"size":"20m"},"threshold":{"op":">","value":60000000},
		"alert":{"context":["$.target.name","$.bytes"]}}`,
	`{"id":"risk","scope":"*","version":1,"when":{"path":"$.risk.score","op":">","value":50},
		"aggregate":{"fn":"avg","path":"$.risk.score"},"group_by":["$.client.app"],"window":{"size":"10m"},"threshold":{"op":">","value":75}}`,
	`{"id":"actors","scope":"*","version":1,"when":{"path":"$.type","op":"!=","value":"login.succeeded"},
		"aggregate":{"fn":"count_distinct","path":"$.actor.id"},"window":{"size":"30m"},"threshold":3}`,
	`{"id":"severities","scope":"*","version":1,"when":{"path":"$.type","op":"exists"},
		"aggregate":{"fn":"count_distinct","path":"$.severity"},"window":{"size":"5m"},"threshold":4}`,
	`{"id":"event-time","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
		"time":"$.time","lateness":"30s","window":{"size":"5m"},"threshold":2}`,
	`{"id":"per-customer","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"file.shared"},"window":{"size":"10m"},"threshold":2}`,
}

// TestMatchingRowsKeepPartitionState: each windowed rule's history read through
// MatchingRows — only the rows its condition keeps, with the values its state takes
// and no payload where the columns hold them — from a lake typing every path, one
// typing the conditions' paths alone, and one with typed and untyped files side by
// side, gives the state, crossings and matches of reading every row of an untyped
// lake, below offsets inside the lake and past it.
func TestMatchingRowsKeepPartitionState(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: four lakes and nine rules over each; runs in make test")
	}
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	gen := workload.New(9, workload.Config{Customers: 5, Start: time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC), Step: 3 * time.Second})
	produce := func(n int) []*kgo.Record {
		var recs []*kgo.Record
		for i := range n {
			ev := gen.Next()
			// Record times run a little off the event times in the payload, some late.
			at := ev.Time.Add(time.Duration(i%7-3) * 20 * time.Second)
			recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: at})
		}
		return b.Produce(t, recs...)
	}
	var rules []*rule.Rule
	var paths []string
	for _, js := range matchingRules {
		r := livetest.ParseRule(t, js)
		rules = append(rules, r)
		for _, p := range r.Paths() {
			paths = append(paths, p.String())
		}
	}
	// A lake typing every path for the first half of the events and none for the
	// second: typed and untyped files side by side in each partition.
	mixed, recs := archiveSwitching(t, b, paths, produce)
	plain, _ := livetest.Archive(t, b, recs)
	ends := map[int32]int64{}
	for _, rec := range recs {
		ends[rec.Partition] = max(ends[rec.Partition], rec.Offset+1)
	}
	// Typed lakes: every path; the condition's alone (values come from payloads).
	typedAll, _ := livetest.Archive(t, b, recs, paths...)
	var condPaths []string
	for _, r := range rules {
		for _, p := range r.Paths() {
			if !slices.Contains(r.GroupPaths(), p) && p != r.AggregatePath() && p != r.TimePath() {
				condPaths = append(condPaths, p.String())
			}
		}
	}
	typedCond, _ := livetest.Archive(t, b, recs, condPaths...)
	lakes := []struct {
		name string
		lake *lakehouse.Lake
	}{{"typed", typedAll}, {"condition-typed", typedCond}, {"mixed", mixed}}
	for _, r := range rules {
		var reads readCounts
		crossings := 0
		for p, end := range ends {
			for _, cut := range []int64{end / 3, end + 1} { // inside the lake, and one past it
				state := func(cfg backtest.Config) (*backtest.PartitionHistory, []string) {
					var got []string
					h, err := backtest.PartitionState(context.Background(), cfg, r, p, cut, func(offset int64, at time.Time, c window.Crossing) {
						got = append(got, fmt.Sprint(offset, c.Customer, string(c.Group), c.Start, c.Value, livetest.JSONText(t, c.Context)))
					})
					if err != nil {
						t.Fatal(err)
					}
					return h, got
				}
				want, wantX := state(backtest.Config{Lake: plain})
				for _, l := range lakes {
					counts := &readCounts{}
					if l.name == "typed" {
						counts = &reads
					}
					got, gotX := state(backtest.Config{Lake: l.lake, Matching: matchingIn(l.lake, t.TempDir(), counts)})
					if !bytes.Equal(got.State.AppendTo(nil), want.State.AppendTo(nil)) || !slices.Equal(gotX, wantX) || got.Matches != want.Matches {
						t.Errorf("rule %s, %s lake, partition %d below %d: typed read %d windows, %d crossings, %d matches; every row %d windows, %d crossings, %d matches",
							r.ID, l.name, p, cut, got.State.WindowCount(), len(gotX), got.Matches, want.State.WindowCount(), len(wantX), want.Matches)
					}
				}
				crossings += len(wantX)
			}
		}
		// Objects as groups (and an array as context) need the payload; every other
		// value the columns hold.
		objects := r.ID == "by-geo-object"
		if crossings == 0 || reads.files.Load() == 0 || (reads.payloads.Load() > 0) != objects || (reads.values.Load() > 0) == objects {
			t.Errorf("rule %s: %d crossings; through MatchingRows %d files, %d rows with values, %d with payloads", r.ID, crossings,
				reads.files.Load(), reads.values.Load(), reads.payloads.Load())
		}
	}
}

// archiveSwitching archives, into a new lake, the 1500 events produce makes while
// typing paths, then the 1500 more it makes typing none, and returns the lake and
// every record produced.
func archiveSwitching(t *testing.T, b *kafkatest.Broker, paths []string, produce func(n int) []*kgo.Record) (*lakehouse.Lake, []*kgo.Record) {
	t.Helper()
	cols := lakehouse.NewColumnSet(len(paths))
	if err := cols.Set(paths); err != nil {
		t.Fatal(err)
	}
	bkt := lakehouse.NewMemBucket()
	lake := lakehouse.NewLake(bkt, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(ctx, lakehouse.ArchiverConfig{Brokers: []string{b.Addr}, Bucket: bkt, Columns: cols,
			RollAge: 20 * time.Millisecond, CompactInterval: -1, Logger: slog.New(slog.DiscardHandler)})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var recs []*kgo.Record
	archived := func() bool {
		snap, err := lake.Snapshot(context.Background())
		if err != nil {
			return false
		}
		for _, r := range recs {
			if snap.Watermark(r.Partition) < r.Offset {
				return false
			}
		}
		return true
	}
	recs = append(recs, produce(1500)...)
	poll.Until(t, 60*time.Second, "the first half archived", archived)
	if err := cols.Set(nil); err != nil {
		t.Fatal(err)
	}
	recs = append(recs, produce(1500)...)
	poll.Until(t, 60*time.Second, "the second half archived", archived)
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var typed, untyped int
	for _, f := range snap.Files(lakehouse.Filter{}) {
		if len(f.Columns) > 0 {
			typed++
		} else {
			untyped++
		}
	}
	if typed == 0 || untyped == 0 {
		t.Fatalf("%d typed and %d untyped files: the lake is not mixed", typed, untyped)
	}
	return lake, recs
}

// TestMatchingRowsKeepRuleScope: a customer's windowed rule, its history read through
// MatchingRows (typed columns, as live's windowed hand-off reads it), takes that
// customer's events alone, as reading every row does. Before, the typed condition kept
// every customer's rows and the values path skipped Set.Match's scope test: another
// customer's events crossed the rule, and moved the watermark past the customer's own.
func TestMatchingRowsKeepRuleScope(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"scoped","scope":"acme","version":1,
		"when":{"path":"$.type","op":"==","value":"login.failed"},
		"group_by":["$.user"],"time":"$.t","window":{"size":"10m"},"threshold":2}`)
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ms := base.UnixMilli()
	var recs []*kgo.Record
	for i, ev := range []struct {
		customer string
		t        int64
	}{
		{"acme", ms},
		{"other", ms + 20*60_000}, // not the rule's customer, 20 minutes later
		{"other", ms + 20*60_000 + 1},
		{"acme", ms + 1000}, // acme's second failure in its window: acme's alert
	} {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(ev.customer),
			Value: fmt.Appendf(nil, `{"type":"login.failed","user":"u1","t":%d}`, ev.t), Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	recs = b.Produce(t, recs...)
	var paths []string
	for _, p := range r.Paths() {
		paths = append(paths, p.String())
	}
	plain, _ := livetest.Archive(t, b, recs)
	typed, _ := livetest.Archive(t, b, recs, paths...)
	end := recs[len(recs)-1].Offset + 1
	state := func(cfg backtest.Config) (*backtest.PartitionHistory, []string) {
		var got []string
		h, err := backtest.PartitionState(context.Background(), cfg, r, 0, end, func(offset int64, at time.Time, c window.Crossing) {
			got = append(got, fmt.Sprintf("offset %d customer %s", offset, c.Customer))
		})
		if err != nil {
			t.Fatal(err)
		}
		return h, got
	}
	want, wantX := state(backtest.Config{Lake: plain})
	var n readCounts
	got, gotX := state(backtest.Config{Lake: typed, Matching: matchingIn(typed, t.TempDir(), &n)})
	if n.values.Load() == 0 {
		t.Fatalf("no row came with its values (%d files, %d payloads): the test shows nothing", n.files.Load(), n.payloads.Load())
	}
	if !slices.Equal(wantX, []string{"offset 3 customer acme"}) || want.Matches != 2 {
		t.Fatalf("reading every row: %d matches, crossings %q; want acme's 2 and its crossing at offset 3", want.Matches, wantX)
	}
	if !slices.Equal(gotX, wantX) || got.Matches != want.Matches || got.State.Stats() != want.State.Stats() {
		t.Errorf("typed read: %d matches, %d late, crossings %q; every row: %d, %d, %q",
			got.Matches, got.State.Stats().Late, gotX, want.Matches, want.State.Stats().Late, wantX)
	}
}
