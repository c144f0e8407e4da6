package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestWindowedRulesInternNoCustomer: a daemon whose rules are windowed keeps no
// counter, and its window states forget groups as their windows close (bounded by
// --max-groups). HandleBatch interned an event's customer into the partition's counter
// store (names in pages that never move, an entry, a table slot) as soon as the event
// matched any rule, before it looked whether the rule was a plain count, and nothing
// takes a customer out: the stores held every customer id a matched event ever
// carried, growing with the distinct ids seen over the daemon's life.
func TestWindowedRulesInternNoCustomer(t *testing.T) {
	t.Parallel()
	const rounds, perRound = 3, 1000
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	d, _ := livetest.StartLive(t, b, nil)
	r := livetest.ParseRule(t, `{"id":"burst","scope":"*","version":1,"when":{"path":"$.kind","op":"==","value":"fail"},
		"group_by":["$.user"],"window":{"size":"1m"},"time":"$.ts","threshold":1000}`)
	b.Produce(t, livetest.Upsert(t, r))
	poll.Until(t, 30*time.Second, "rule active", func() bool { _, ok := d.Count(r.Key(), ""); return ok })
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var first, last int
	for round := range rounds {
		// Each round is an hour after the last: the windows of the round before close.
		at := base.Add(time.Duration(round) * time.Hour)
		recs := make([]*kgo.Record, perRound)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprintf("cust-%d-%d", round, i)),
				Value: []byte(fmt.Sprintf(`{"kind":"fail","user":"u%d","ts":%q}`, i%4, at.Format(time.RFC3339))), Timestamp: at}
		}
		b.Produce(t, recs...)
		waitCommitted(t, b, d, fmt.Sprint("round ", round))
		counts, _ := d.Counts(r.Key())
		open := 0
		for _, c := range counts {
			open += len(c.Windows)
		}
		entries, with := d.CounterStoreCustomers()
		t.Logf("round %d: %d distinct customers so far: open windows %d; counter stores hold %d customer entries (%d with a counter)",
			round, (round+1)*perRound, open, entries, with)
		if round == 0 {
			first = entries
		}
		last = entries
	}
	if _, with := d.CounterStoreCustomers(); last > with {
		t.Fatalf("only a windowed rule is active (no counters: %d customers with one), yet the counter stores hold %d customer entries, up from %d after the first round: one per distinct customer id ever matched",
			with, last, first)
	}
}
