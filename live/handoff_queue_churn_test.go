package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestReplacedVersionsLeaveTheHandoffQueue: a rule replaced many times while the
// hand-off workers are busy (here the one worker holds another rule's job) must not
// leave a queued hand-off job per replaced version. The README bounds the queue by the
// active rules ("every active rule version is at most one hand-off backfill job per
// partition, so this also bounds the backfill queue"), and hindsight_backfills_queued
// and hindsight_backfills_running should count the jobs that will run: the job of a
// replaced version is cancelled but stays queued (holding its compiled rule) until a
// worker pops it, so a script that updates a rule in a loop grows the queue without
// bound, the gauges count jobs that will never run, and /v1/rules puts the one live job
// behind them (queue_position).
func TestReplacedVersionsLeaveTheHandoffQueue(t *testing.T) {
	t.Parallel()
	const versions = 20
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	release, restore := holdJobs(livetest.Group(t))
	defer restore()
	defer release()
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill = false
		c.BackfillConcurrency = 1
		c.Registry = reg
	})
	gauge := func(name string) float64 { return promtest.Sum(t, reg, name) }
	b.Produce(t, loginFailed("z", 1))
	waitCommitted(t, b, d, "history")

	// The one worker takes this rule's job and is held there.
	hold := `{"id":"hold","scope":"*","version":1,"threshold":3,"when":{"path":"$.type","op":"==","value":"login.failed"}}`
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, hold)))
	poll.Until(t, 30*time.Second, "the held rule's job taken by the worker", func() bool {
		return gauge("hindsight_backfills_running") == 1 && gauge("hindsight_backfills_queued") == 0
	})
	builds := gauge("hindsight_rule_index_builds_total")

	for v := 1; v <= versions; v++ {
		r := livetest.ParseRule(t, fmt.Sprintf(`{"id":"churn","scope":"*","version":%d,"threshold":%d,"when":{"path":"$.type","op":"==","value":"login.failed"}}`, v, v))
		b.Produce(t, livetest.Upsert(t, r))
		// One control a fetch: each version is published, and adopted, on its own.
		poll.Until(t, 30*time.Second, fmt.Sprintf("version %d published", v), func() bool {
			return gauge("hindsight_rule_index_builds_total") == builds+float64(v)
		})
	}
	if got, want := len(d.Registry().Versions()), 2; got != want {
		t.Fatalf("%d active rule versions, want %d", got, want)
	}
	// One partition, two active versions: the held one's job runs, churn's latest waits.
	// A version is published before its partition takes it up and queues its job (a CI
	// race pass read churn's hand-off with queue_position 0, not queued yet): wait for
	// the job to be queued, then see where.
	var churn []contract.BackfillProgress
	poll.Within(30*time.Second, func() bool {
		for _, v := range d.Rules() {
			if v.Key().String() == "*/churn" {
				churn = v.Backfill
				return len(churn) == 1 && churn[0].QueuePosition != 0
			}
		}
		return false
	})
	if len(churn) != 1 || churn[0].QueuePosition != 1 {
		t.Errorf("/v1/rules shows churn's hand-off %+v; want one job, first in the queue (queue_position 1): nothing else waits", churn)
	}
	queued, running := gauge("hindsight_backfills_queued"), gauge("hindsight_backfills_running")
	if queued != 1 || running != 2 {
		t.Errorf("after %d versions of one rule: hindsight_backfills_queued %v, hindsight_backfills_running %v; want 1 and 2 (the replaced versions' jobs are cancelled, yet still queued and counted)",
			versions, queued, running)
	}
}
