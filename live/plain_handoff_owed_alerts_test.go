package live_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestPlainHandoffOwesOnlyCrossingsItCauses: a plain count (threshold 2) starts with
// one event of history each for customers x and y, its backfill held. Live, y's first
// event is the version's first (offset start), and x reaches 2 from live events alone
// and fires live. When the backfill applies, y's history takes it to 2: its alert is
// owed, and names y's live event at offset start, so its source is live (the event
// was evaluated live, not read from history). x was at the threshold before the
// history was added: it is owed no second alert.
func TestPlainHandoffOwesOnlyCrossingsItCauses(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	const group = "plain-handoff-owed"
	release, restore := holdJobs(group)
	defer restore()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.NoBackfill = group, false })
	ev := func(customer string) *kgo.Record {
		return livetest.Event(customer, `{"type":"login.failed"}`)
	}
	b.Produce(t, ev("x"), ev("y")) // history, offsets 0 and 1
	waitSeen(t, d, 2)
	const js = `{"id":"fails","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	b.Produce(t, ev("y"), ev("x"), ev("x")) // live, offsets 2, 3, 4
	waitSeen(t, d, 5)
	if v := ruleView(t, d, r.Key()); v.StartOffsets[0] != 2 || len(v.Backfill) != 1 {
		t.Fatalf("start offsets %v, backfill %+v: want the version started at 2, its backfill pending", v.StartOffsets, v.Backfill)
	}
	first := alertsOn(t, b, 1)[0] // x's live crossing
	release()
	poll.Until(t, wait, "the backfill applied", func() bool {
		return ruleView(t, d, r.Key()).Status == contract.RuleLive && b.TopicRecords(t, "alerts") >= 2
	})
	n := b.TopicRecords(t, "alerts")
	var got []string
	for _, a := range alertsOn(t, b, int(n)) {
		got = append(got, fmt.Sprintf("%s %s offset %d source %s", a.Customer, a.Status, a.Offset, a.Source))
	}
	want := []string{"x firing offset 4 source live", "y firing offset 2 source live"}
	if !slices.Equal(got, want) {
		t.Errorf("alerts (first %s)\n  %s\nwant\n  %s", first.AlertID, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
