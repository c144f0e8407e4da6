package live_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestWindowedHandoffWhileKafkaListsTheLogBehind: TestHandoffWhileKafkaListsTheLogBehind
// for a windowed rule, whose history is replayed (backtest.PartitionState) rather than
// counted. Applied after 30 logins were evaluated, it is handed off at offset 30 while
// the broker lists the log as ending at 10; the replay is retried, the rule backfilling
// with the reason as its last error, until the broker lists the whole log; then its
// window counts all 30. Without the replay told that the log was read up to its end
// (backtest.Config.EndRead), the window state of the 10 offsets listed was handed
// over and the rule was live with a window count of 10, nothing said missing.
func TestWindowedHandoffWhileKafkaListsTheLogBehind(t *testing.T) {
	t.Parallel()
	handoffWhileKafkaListsTheLogBehind(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"window":{"size":"24h"},"threshold":1000}`,
		"below offset 30 up to which it was read")
}

// handoffWhileKafkaListsTheLogBehind applies rule js, matching each of the 30 logins
// of customer c evaluated before it, while the broker lists the log as ending at 10,
// and checks that its hand-off is retried, the rule backfilling with reason in its
// last error, until the broker lists the whole log, then that the rule is live and
// counts c's 30 logins (a plain count, or the window that holds them).
func handoffWhileKafkaListsTheLogBehind(t *testing.T, js, reason string) {
	t.Helper()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill = false
		c.BackfillCacheDir = t.TempDir()
		c.BackfillMinBackoff, c.BackfillMaxBackoff = 20*time.Millisecond, 100*time.Millisecond
	})
	logins := make([]*kgo.Record, 0, 30)
	for range 30 {
		logins = append(logins, livetest.Event("c", `{"type":"login"}`))
	}
	b.Produce(t, logins...)
	poll.Until(t, 30*time.Second, "the 30 logins evaluated", func() bool { return d.EventsSeen() >= 30 })

	var behind atomic.Bool
	behind.Store(true)
	b.ListEndAt("events", 10, behind.Load)
	r := livetest.ParseRule(t, js)
	b.Produce(t, livetest.Upsert(t, r))
	view := func() (contract.RuleView, bool) {
		for _, v := range d.Rules() {
			if v.ID == r.ID && len(v.StartOffsets) == 1 {
				return v, true
			}
		}
		return contract.RuleView{}, false
	}
	var seen contract.RuleView
	poll.Until(t, 30*time.Second, "the hand-off retried, or done", func() bool {
		v, ok := view()
		seen = v
		return ok && (v.Status != contract.RuleBackfilling || len(v.Backfill) == 1 && v.Backfill[0].Attempts >= 2)
	})
	if seen.Status != contract.RuleBackfilling || !strings.Contains(seen.Backfill[0].LastError, reason) {
		n, _ := d.Count(r.Key(), "c")
		t.Fatalf("with Kafka listing the log as ending at 10, below the hand-off's 30: rule %s, count %d, incomplete %v, backfill %+v; want backfilling, retried with the reason",
			seen.Status, n.Count, seen.Incomplete, seen.Backfill)
	}
	behind.Store(false)
	poll.Until(t, 30*time.Second, "the hand-off done once Kafka lists the whole log", func() bool {
		v, ok := view()
		return ok && v.Status != contract.RuleBackfilling
	})
	v, _ := view()
	if n, _ := d.Count(r.Key(), "c"); v.Status != contract.RuleLive || n.Count != 30 {
		t.Errorf("rule %s, count %d after the hand-off (incomplete %v); want live, the 30 logins", v.Status, n.Count, v.Incomplete)
	}
}
