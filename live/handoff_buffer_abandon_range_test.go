package live_test

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHandoffBufferAbandonedRangeEndsBeforeTheEvent: a windowed version's hand-off
// buffer cannot hold one event, so it gives up its history at its first matched event
// (offset 2) and counts from that event on: what it lacks is offsets 0 and 1, and the
// event at 2 is counted (its window holds it).
func TestHandoffBufferAbandonedRangeEndsBeforeTheEvent(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	const group = "handoff-abandon-range"
	_, restore := holdJobs(group)
	defer restore()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.NoBackfill, c.HandoffBufferBytes = group, false, 1
	})
	b.Produce(t, loginFailed("z", 0), loginFailed("z", 1)) // history, offsets 0 and 1
	waitSeen(t, d, 2)
	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"1h"},"time":"$.ts","threshold":100}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	b.Produce(t, loginFailed("a", 2)) // offset 2: beyond the buffer
	waitSeen(t, d, 3)
	var v contract.RuleView
	poll.Until(t, wait, "the hand-off abandoned", func() bool {
		v = ruleView(t, d, r.Key())
		return len(v.Incomplete) > 0
	})
	if v.Status != contract.RuleError || len(v.Incomplete) != 1 || v.Incomplete[0].From != 0 || v.Incomplete[0].To != 1 ||
		!strings.Contains(v.Incomplete[0].Reason, "max_handoff_buffer_bytes") {
		t.Errorf("status %s, incomplete %+v; want error, offsets 0 to 1 missing for max_handoff_buffer_bytes", v.Status, v.Incomplete)
	}
	c, ok := d.Count(r.Key(), "c-1")
	if !ok || c.Count != 1 {
		t.Errorf("count of c-1 %+v (ok %v), want 1: the event at offset 2, counted once its history was given up", c, ok)
	}
}
