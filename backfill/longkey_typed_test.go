package backfill_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestLongCustomerOfTypedFileCountsNowhere: a row whose customer is longer than
// max_customer_bytes (a file written under a larger --max-customer-bytes) counts
// nowhere, as live dead-letters the record and backtest's read of every row skips it.
// A windowed hand-off reads typed files through MatchingRows, whose rows come with
// their values, and nothing checked their customers: the long customer's events were
// counted and crossed the rule (a review's test). Not parallel: it raises the process's
// max_customer_bytes while the lake is archived.
func TestLongCustomerOfTypedFileCountsNowhere(t *testing.T) {
	old := rule.CurrentLimits()
	defer rule.SetLimits(old)
	r := livetest.ParseRule(t, `{"id":"w","scope":"*","version":1,
		"when":{"path":"$.type","op":"==","value":"login.failed"},
		"group_by":["$.user"],"time":"$.t","window":{"size":"10m"},"threshold":2}`)
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	long := strings.Repeat("c", old.MaxCustomerBytes+1)
	ms := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixMilli()
	var recs []*kgo.Record
	for i, c := range []string{"acme", long, long} {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(c),
			Value: []byte(`{"type":"login.failed","user":"u1","t":` + strconv.FormatInt(ms+int64(i)*1000, 10) + `}`)})
	}
	recs = b.Produce(t, recs...)
	// Archived under a larger --max-customer-bytes, which keeps the long key.
	l := old
	l.MaxCustomerBytes = 4 * old.MaxCustomerBytes
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range r.Paths() {
		paths = append(paths, p.String())
	}
	plain, _ := livetest.Archive(t, b, recs)
	typed, _ := livetest.Archive(t, b, recs, paths...)
	if err := rule.SetLimits(old); err != nil {
		t.Fatal(err)
	}
	end := recs[len(recs)-1].Offset + 1
	state := func(cfg backtest.Config) (*backtest.PartitionHistory, int) {
		crossings := 0
		h, err := backtest.PartitionState(context.Background(), cfg, r, 0, end, func(int64, time.Time, window.Crossing) { crossings++ })
		if err != nil {
			t.Fatal(err)
		}
		return h, crossings
	}
	want, wantX := state(backtest.Config{Lake: plain})
	var n readCounts
	got, gotX := state(backtest.Config{Lake: typed, Matching: matchingIn(typed, t.TempDir(), &n)})
	if n.values.Load() == 0 {
		t.Fatalf("no row came with its values: the test shows nothing")
	}
	if want.Matches != 1 || wantX != 0 {
		t.Fatalf("reading every row: %d matches, %d crossings; want acme's 1 and none", want.Matches, wantX)
	}
	if got.Matches != want.Matches || gotX != wantX {
		t.Errorf("typed read (a windowed hand-off's): %d matches, %d crossings; every row: %d, %d: the customer of %d bytes, which live dead-letters, was counted",
			got.Matches, gotX, want.Matches, wantX, len(long))
	}
}
