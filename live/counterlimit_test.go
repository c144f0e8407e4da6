package live_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestCounterLimitDegradesTheRule: a partition keeps at most --max-counters running
// totals. Five customers' events under a limit of three: the first three customers
// are counted (one of them to its alert); the matches of the other two, which needed
// new counters, are not, and the rule says so (degraded, with why, in /v1/rules and
// /v1/counts, and in /metrics). A rule made afterwards finds the store full: its
// hand-off's history is refused alike. Both stay degraded across a restart, which
// restores the refusals from the snapshot. Without the bound every distinct record
// key grew the store until the process ran out of memory.
func TestCounterLimitDegradesTheRule(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	state := t.TempDir()
	reg := prometheus.NewRegistry()
	conf := func(reg *prometheus.Registry) func(c *live.Config) {
		return func(c *live.Config) {
			c.Group, c.StateURL, c.Registry, c.MaxCounters = "counter-limit", "file://"+state, reg, 3
			c.NoBackfill, c.NoArchive = false, false
		}
	}
	d, stop := livetest.StartLive(t, b, conf(reg))
	first := livetest.ParseRule(t, `{"id":"first","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":2}`)
	b.Produce(t, livetest.Upsert(t, first))
	waitRule(t, d, first.Key(), 1)
	x := `{"type":"x"}`
	b.Produce(t, ev("c-1", x), ev("c-2", x), ev("c-3", x), ev("c-4", x), ev("c-5", x), ev("c-1", x), ev("c-5", x))
	waitSeen(t, d, 7)

	if a := alertsOn(t, b, 1)[0]; a.Customer != "c-1" || a.Count != 2 {
		t.Errorf("alert of %s at %d; want c-1's at 2 (c-5's second match was not counted)", a.Customer, a.Count)
	}
	var got []string
	for _, c := range []string{"c-1", "c-2", "c-3", "c-4", "c-5"} {
		got = append(got, fmt.Sprintf("%s=%d", c, count(t, d, first.Key(), c)))
	}
	if strings.Join(got, " ") != "c-1=2 c-2=1 c-3=1 c-4=0 c-5=0" {
		t.Errorf("counts %v; want the first three customers counted, c-4 and c-5 not", got)
	}
	const firstWhy = "counter store full in partitions [0] (at --max-counters 3 counters, or --max-customer-ids-bytes 1073741824 bytes of customer ids; hindsight_window_limit_drops_total says which): 3 matches that needed a new counter were not counted"
	checkDegraded(t, d, first.Key(), firstWhy)
	if v, _ := d.Count(first.Key(), "c-1"); v.Status != contract.RuleDegraded {
		t.Errorf("/v1/counts of c-1 says %q, want degraded (the rule's counts are lower bounds)", v.Status)
	}
	for _, m := range []struct {
		name, label string
		want        float64
	}{
		{"hindsight_window_limit_drops_total", "limit", 3},
		{"hindsight_limit_reached_total", "name", 3},
		{"hindsight_limit", "name", 3},
	} {
		if got := promtest.Value(t, reg, m.name, m.label, "max_counters"); got != m.want {
			t.Errorf("%s{%s=max_counters} = %v, want %v", m.name, m.label, got, m.want)
		}
	}

	// A rule made now counts the same seven events as history: every customer would
	// need a counter of its own, and the store is full.
	second := livetest.ParseRule(t, `{"id":"second","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":10}`)
	b.Produce(t, livetest.Upsert(t, second))
	waitRule(t, d, second.Key(), 1)
	const secondWhy = "counter store full in partitions [0] (at --max-counters 3 counters, or --max-customer-ids-bytes 1073741824 bytes of customer ids; hindsight_window_limit_drops_total says which): 7 matches that needed a new counter were not counted"
	poll.Until(t, 30*time.Second, "the second rule's hand-off", func() bool {
		return ruleView(t, d, second.Key()).Status == contract.RuleDegraded
	})
	checkDegraded(t, d, second.Key(), secondWhy)

	stop()
	<-d.Done()
	d2, _ := livetest.StartLive(t, b, conf(prometheus.NewRegistry()))
	waitRule(t, d2, second.Key(), 1)
	checkDegraded(t, d2, first.Key(), firstWhy)
	checkDegraded(t, d2, second.Key(), secondWhy)
	if n := count(t, d2, first.Key(), "c-1"); n != 2 {
		t.Errorf("after the restart c-1's count is %d, want 2", n)
	}
}

// checkDegraded waits for the rule view of k to be degraded, then checks why.
func checkDegraded(t *testing.T, d *live.Daemon, k rule.Key, why string) {
	t.Helper()
	poll.Until(t, wait, "rule "+k.String()+" degraded", func() bool { return ruleView(t, d, k).Status == contract.RuleDegraded })
	if v := ruleView(t, d, k); v.Degraded != why {
		t.Errorf("rule %s: degraded %q; want %q", k, v.Degraded, why)
	}
}
