package live_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHistoryAlertsBoundKeepsRecountResolves: a rule with backfill: {alert: true} and
// resolve fires live for 5 users in a process without snapshots; the next process
// recounts its history by hand-off under --max-history-alerts 2. The first process
// sent all 5 firings live, so each must be resolved when its incident closes, as an
// uninterrupted run (and the recount before the bound) resolves them. The bound made
// the incidents past its 2 firings silent: their resolves were never sent (a review's
// test).
func TestHistoryAlertsBoundKeepsRecountResolves(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	conf := func(c *live.Config) {
		c.Group, c.NoSnapshots, c.NoBackfill, c.MaxHistoryAlerts = "recount-bound", true, false, 2
	}
	d, stop := livetest.StartLive(t, b, conf)
	const js = `{"id":"each","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":1,
	  "backfill":{"alert":true},"alert":{"resolve":true}}`
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	waitActive(t, d, []string{js})
	users := []string{"u0", "u1", "u2", "u3", "u4"}
	for i, u := range users {
		b.Produce(t, loginFailed(u, 1+i)) // each fires live, window [0s, 10s)
	}
	alertsOn(t, b, len(users))
	waitCommitted(t, b, d, "the first events")
	stop()
	<-d.Done()

	d, _ = livetest.StartLive(t, b, conf)
	poll.Until(t, wait, "the rule live again (hand-off done)", func() bool {
		v := ruleView(t, d, r.Key())
		return v.Status == contract.RuleLive && len(v.StartOffsets) == 1
	})
	b.Produce(t, loginFailed("late", 30)) // the watermark passes every incident
	waitCommitted(t, b, d, "every event")

	var resolved []string
	poll.WithinEvery(10*time.Second, 50*time.Millisecond, func() bool {
		resolved = resolved[:0]
		for _, a := range alertsOn(t, b, int(b.TopicRecords(t, "alerts"))) {
			u := strings.Trim(string(a.Group["$.user"]), `"`)
			if a.Status == contract.StatusResolved && !slices.Contains(resolved, u) {
				resolved = append(resolved, u)
			}
		}
		return len(resolved) >= len(users)
	})
	slices.Sort(resolved)
	if fmt.Sprint(resolved) != fmt.Sprint(users) {
		t.Errorf("resolved %v; want every user whose firing the first process sent, %v", resolved, users)
	}
}
