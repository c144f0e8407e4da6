package live_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestRuleHistoryCountsAFiringAtExactlyTheThreshold: a customer whose history holds
// exactly the threshold's count of matches reached it, as a live count does (>=), so
// the rule view's history counts it among the firings. No test had a customer at the
// threshold: counting only those past it (>) went unseen.
func TestRuleHistoryCountsAFiringAtExactlyTheThreshold(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.ArchiveRollAge = 50 * time.Millisecond
	})
	// Threshold 3: "under" fails twice, "at" three times, "over" four times.
	fails := map[string]int{"under": 2, "at": 3, "over": 4}
	var history []*kgo.Record
	for c, n := range fails {
		for range n {
			history = append(history, &kgo.Record{Topic: "events", Key: []byte(c), Value: []byte(`{"kind":"fail"}`)})
		}
		history = append(history, &kgo.Record{Topic: "events", Key: []byte(c), Value: []byte(`{"kind":"ok"}`)})
	}
	history = b.Produce(t, history...)
	waitCommitted(t, b, d, "the history")
	r := livetest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":3,"when":{"path":"$.kind","op":"==","value":"fail"}}`)
	b.Produce(t, livetest.Upsert(t, r))
	poll.Until(t, 30*time.Second, "the rule live with its history", func() bool {
		vs := d.Rules()
		return len(vs) == 1 && vs[0].Status == contract.RuleLive && vs[0].History != nil
	})
	if s := d.StartOffsets(r.Key())[0]; s != int64(len(history)) {
		t.Fatalf("rule started at offset %d, want %d (after the whole history): the test needs all of it below the start", s, len(history))
	}
	h := d.Rules()[0].History
	if h.Matches != 9 || h.Firings != 2 || !h.Alerted {
		t.Errorf("history %+v: want 9 matches and 2 firings (at, 3 of threshold 3, and over; not under), alerted", h)
	}
	for c, n := range fails {
		if got := count(t, d, r.Key(), c); got != int64(n) {
			t.Errorf("customer %s: count %d, want %d", c, got, n)
		}
	}
}
