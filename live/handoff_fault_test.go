package live_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/e2etest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

// TestHandoffRidesOutLakeOutage: with the lake (S3 on loopback) down, a new rule's
// backfill fails and is retried while live counting goes on; when the lake is back the
// job completes and the count equals a full replay. A second version published while
// the first is still backfilling replaces it: the stale job's counts never land.
func TestHandoffRidesOutLakeOutage(t *testing.T) {
	t.Parallel() // own broker, lake and daemon: shares nothing, and spends its time waiting
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	s3 := s3test.Start(t, "lake")
	d, _ := e2etest.StartLive(t, b, func(c *live.Config) {
		c.LakeURL, c.NoArchive, c.NoBackfill = s3.URL(), false, false
		c.ArchiveRollAge = 50 * time.Millisecond
		c.BackfillCacheDir = t.TempDir()
		c.BackfillMinBackoff, c.BackfillMaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	})
	gen := workload.New(21, workload.Config{Customers: 3})
	produce := func(n int) []*kgo.Record { return e2etest.ProduceEvents(t, b, gen, n) }
	history := produce(400)
	e2etest.WaitFor(t, 30*time.Second, "events consumed", func() bool { return d.EventsSeen() >= 400 })

	s3.Stop()
	v1 := e2etest.ParseRule(t, `{"id":"fails","scope":"*","version":1,"threshold":1000,"when":{"path":"$.outcome","op":"==","value":"failure"}}`)
	e2etest.ProduceSync(t, b, e2etest.Upsert(t, v1))
	key := rule.Key{Scope: "*", ID: "fails"}
	e2etest.WaitFor(t, 30*time.Second, "rule active", func() bool { _, ok := d.Count(key, "c-0000"); return ok })
	history = append(history, produce(100)...) // counted live: the rule is active
	e2etest.WaitFor(t, 30*time.Second, "backfill failing and retried", func() bool {
		for _, v := range d.Rules() {
			if v.ID == "fails" && v.Status == contract.RuleBackfilling {
				for _, bv := range v.Backfill {
					if bv.Attempts >= 2 && bv.LastError != "" {
						return true
					}
				}
			}
		}
		return false
	})
	// Live counting went on meanwhile: the events after the rule are counted.
	e2etest.WaitFor(t, 30*time.Second, "live counts during the outage", func() bool {
		v, _ := d.Count(key, workload.CustomerID(0))
		return v.Count > 0 && v.Status == contract.RuleBackfilling
	})
	// A fixed version replaces the first while its job still fails.
	v2 := *v1
	v2.Version, v2.Threshold = 2, 5
	e2etest.ProduceSync(t, b, e2etest.Upsert(t, &v2))
	history = append(history, produce(100)...)
	if err := s3.Restart(); err != nil {
		t.Fatal(err)
	}
	e2etest.WaitFor(t, 60*time.Second, "backfill complete after the outage", func() bool {
		for _, v := range d.Rules() {
			if v.ID == "fails" {
				return v.Version == 2 && v.Status == contract.RuleLive && d.EventsSeen() >= int64(len(history))
			}
		}
		return false
	})
	want := fullReplay(t, history, &v2)
	for c := range 3 {
		customer := workload.CustomerID(c)
		v, _ := d.Count(key, customer)
		if v.Count != want[customer] || v.Version != 2 {
			t.Errorf("customer %s: count %d (v%d), full replay %d", customer, v.Count, v.Version, want[customer])
		}
	}
	if want[workload.CustomerID(0)] == 0 {
		t.Fatal("replay counts nothing for c-0000: the test shows nothing")
	}
}
