package live_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHandoffBufferHoldsAnEventOfExactlyItsSize: --max-handoff-buffer-bytes is what
// the buffer may hold: an event whose cost is exactly the limit is buffered, the
// hand-off kept.
func TestHandoffBufferHoldsAnEventOfExactlyItsSize(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	const group = "handoff-exact-fit"
	_, restore := holdJobs(group)
	defer restore()
	ev := loginFailed("a", 2)
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.Group, c.NoBackfill = group, false
		c.HandoffBufferBytes = int64(len(ev.Key)+len(ev.Value)) + live.BufferedEventOverhead
	})
	b.Produce(t, loginFailed("z", 0)) // history: the hand-off has a job
	waitSeen(t, d, 1)
	const js = `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"1h"},"time":"$.ts","threshold":100}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	b.Produce(t, ev) // buffered: its cost is the limit
	waitSeen(t, d, 2)
	if v := ruleView(t, d, r.Key()); len(v.Incomplete) != 0 || len(v.Backfill) != 1 {
		t.Errorf("incomplete %+v, backfill %+v: want the hand-off pending, nothing missing (the event fits the buffer exactly)", v.Incomplete, v.Backfill)
	}
}
