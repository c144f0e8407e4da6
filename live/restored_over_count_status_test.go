package live_test

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestCountOfStateRestoredOverLoweredLimitSaysDegraded: counters restored from a
// snapshot stored under a higher --max-counters than the restoring daemon's leave the
// partition over its bound, and the rule degraded (TestRestoreOverLoweredCounterLimitIsVisible
// reads the rule view). The counts answered by the query API carry the same status as
// the rule's: degraded, though no event since was refused (only the restore put the
// store over). No test read a count's status there: its status leaving out the
// restore (live) went unseen.
func TestCountOfStateRestoredOverLoweredLimitSaysDegraded(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := t.TempDir()
	conf := func(maxCounters int) func(c *live.Config) {
		return func(c *live.Config) {
			c.Group, c.StateURL, c.Registry, c.MaxCounters = "count-restored-over", "file://"+state, prometheus.NewRegistry(), maxCounters
		}
	}
	d, stop := livetest.StartLive(t, b, conf(0))
	r := livetest.ParseRule(t, `{"id":"many","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	for i := range 5 {
		b.Produce(t, ev(fmt.Sprintf("c-%d", i), `{"type":"x"}`))
	}
	waitSeen(t, d, 5)
	if v, _ := d.Count(r.Key(), "c-0"); v.Status != contract.RuleLive {
		t.Fatalf("before the restart: count status %q, want live (the test needs the limit to be what degrades it)", v.Status)
	}
	stop()
	<-d.Done()

	d2, _ := livetest.StartLive(t, b, conf(2))
	waitRule(t, d2, r.Key(), 1)
	poll.Until(t, wait, "the partition restored", func() bool { return count(t, d2, r.Key(), "c-0") == 1 })
	if v := ruleView(t, d2, r.Key()); v.Status != contract.RuleDegraded {
		t.Fatalf("restored 5 counters under --max-counters 2: rule status %q, want degraded (the case this test builds)", v.Status)
	}
	if v, _ := d2.Count(r.Key(), "c-0"); v.Status != contract.RuleDegraded {
		t.Errorf("restored 5 counters under --max-counters 2: count of c-0 %d with status %q, want degraded as the rule is", v.Count, v.Status)
	}
	cs, _ := d2.Counts(r.Key())
	if len(cs) != 5 {
		t.Fatalf("counts %+v: want the 5 customers restored", cs)
	}
	for _, c := range cs {
		if c.Status != contract.RuleDegraded {
			t.Errorf("restored 5 counters under --max-counters 2: listed count of %s has status %q, want degraded", c.Customer, c.Status)
		}
	}
}
