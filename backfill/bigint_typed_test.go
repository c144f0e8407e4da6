package backfill_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/window"
)

// TestBigIntegerIDsFromTypedLakeKeepTheirDigits: a typed column holds a number as its
// float64, which merges 64-bit ids one apart (1234567890123456789 and …790 are one
// float64). A windowed hand-off reading a typed lake took group_by and count_distinct
// values from it, and so merged two users the payload tells apart: the rows whose
// number there is 2^53 or beyond must come with their payload, and give the crossings
// (groups shown with the ids' digits) of reading every row of an untyped lake.
func TestBigIntegerIDsFromTypedLakeKeepTheirDigits(t *testing.T) {
	t.Parallel()
	rules := []string{
		`{"id":"by-user","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
			"group_by":["$.user"],"time":"$.t","window":{"size":"10m"},"threshold":2}`,
		`{"id":"users","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},
			"aggregate":{"fn":"count_distinct","path":"$.user"},"time":"$.t","window":{"size":"10m"},"threshold":3}`,
	}
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	ms := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixMilli()
	var recs []*kgo.Record
	for i, user := range []string{"42", "1234567890123456789", "1234567890123456790", "1234567890123456789"} {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("acme"),
			Value: fmt.Appendf(nil, `{"type":"login.failed","user":%s,"t":%d}`, user, ms+int64(i)*1000)})
	}
	recs = b.Produce(t, recs...)
	plain, _ := livetest.Archive(t, b, recs)
	typed, _ := livetest.Archive(t, b, recs, "$.type", "$.user", "$.t")
	end := recs[len(recs)-1].Offset + 1
	want := map[string][]string{
		// 789's second event; 790 alone never crosses.
		"by-user": {`3 {"$.user":1234567890123456789}`},
		// 42, 789 and 790 are three distinct users.
		"users": {`2 null`},
	}
	for _, js := range rules {
		r := livetest.ParseRule(t, js)
		state := func(cfg backtest.Config) []string {
			var got []string
			_, err := backtest.PartitionState(context.Background(), cfg, r, 0, end, func(offset int64, _ time.Time, c window.Crossing) {
				g, err := window.GroupJSON(r.GroupBy, c.Group)
				if err != nil {
					t.Fatal(err)
				}
				text, _ := json.Marshal(g)
				got = append(got, fmt.Sprint(offset, " ", string(text)))
			})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := state(backtest.Config{Lake: plain}); !slices.Equal(got, want[r.ID]) {
			t.Fatalf("rule %s, every row of an untyped lake: crossings %q, want %q", r.ID, got, want[r.ID])
		}
		var n readCounts
		if got := state(backtest.Config{Lake: typed, Matching: matchingIn(typed, t.TempDir(), &n)}); !slices.Equal(got, want[r.ID]) {
			t.Errorf("rule %s, typed lake (a windowed hand-off's read): crossings %q, want %q", r.ID, got, want[r.ID])
		}
		if n.values.Load() != 1 || n.payloads.Load() != 3 {
			t.Errorf("rule %s: %d rows with values, %d with payloads; want 42's with its values, the three ids' with their payloads",
				r.ID, n.values.Load(), n.payloads.Load())
		}
	}
}
