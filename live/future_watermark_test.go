package live_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestFarFutureEventTimeIsNotSilent: one matched event whose time path says year 9999
// moves a windowed rule's watermark to 9999, and every later event of the rule is late
// for good (window/doc.go). The rule then counts nothing and alerts on nothing; its
// view said "live", only a Late counter growing (a hunt's test). It says degraded now,
// with why, once events are late under a watermark more than an hour ahead of the clock.
func TestFarFutureEventTimeIsNotSilent(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	r := livetest.ParseRule(t, burstRule)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)

	now := time.Now().UTC().Truncate(time.Minute)
	ts := func(m int) string { return now.Add(time.Duration(m) * time.Second).Format(time.RFC3339) }
	b.Produce(t,
		livetest.Event("c-1", failedLogin("a", ts(0))),
		livetest.Event("c-1", failedLogin("x", "9999-12-31T23:00:00Z")), // one bad clock
		livetest.Event("c-1", failedLogin("a", ts(1))),
		livetest.Event("c-1", failedLogin("a", ts(2))), // a's third in a minute: would alert
		livetest.Event("c-2", failedLogin("b", ts(3))),
		livetest.Event("c-2", failedLogin("b", ts(4))),
		livetest.Event("c-2", failedLogin("b", ts(5))), // b's third: would alert
	)
	waitSeen(t, d, 7)
	view := ruleView(t, d, r.Key())
	ws := view.WindowState
	if ws == nil {
		t.Fatalf("no window state")
	}
	if view.Status != contract.RuleDegraded || !strings.Contains(ws.Degraded, "its event-time watermark is at 9999-12-31T") || !strings.Contains(ws.Degraded, "ahead of the clock") {
		t.Errorf("after one event timed 9999-12-31, %d of the rule's %d later events are late and will be for good, yet "+
			"status %q, window_state.degraded %q: nothing says the rule stopped counting (window state %+v)",
			ws.Late, 5, view.Status, ws.Degraded, *ws)
	}
}
