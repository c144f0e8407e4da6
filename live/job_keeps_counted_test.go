package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHandoffJobKeepsHistoryOfACustomerLiveCounts: a hand-off job bounded at
// --max-counters (backfill.Config.MaxCustomers) keeps the first customers in id order
// and refuses the rest. A customer live has already counted since the version started
// holds its counter: its history needs no new counter. The job refused it for sorting
// last (a review's test): its count stayed at live's part and its alert was never
// sent, while the store spent its room on customers of no count yet. The job now asks
// the partition (Job.Keep) before refusing a customer, and keeps those it counts.
func TestHandoffJobKeepsHistoryOfACustomerLiveCounts(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.MaxCounters, c.NoBackfill, c.Registry = 3, false, prometheus.NewRegistry()
	})
	x := `{"type":"x"}`
	// History: four customers; z-1 twice.
	b.Produce(t, ev("a-1", x), ev("a-2", x), ev("a-3", x), ev("z-1", x), ev("z-1", x))
	waitSeen(t, d, 5)

	// Hold the job's reading of history (fetches of events below offset 5, which only
	// the job makes now) until z-1's live event is counted.
	md, err := kadm.NewClient(b.Client(t)).Metadata(context.Background(), "events")
	if err != nil {
		t.Fatal(err)
	}
	eventsID := md.Topics["events"].ID
	release := make(chan struct{})
	c := b.Cluster
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, tp := range req.(*kmsg.FetchRequest).Topics {
			if tp.Topic != "events" && tp.TopicID != eventsID {
				continue
			}
			for _, p := range tp.Partitions {
				if p.FetchOffset < 5 {
					c.SleepControl(func() { <-release })
				}
			}
		}
		return nil, nil, false
	})
	held := true
	defer func() {
		if held {
			close(release)
		}
	}()

	r := livetest.ParseRule(t, `{"id":"r","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":3}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	b.Produce(t, ev("z-1", x))
	waitSeen(t, d, 6)
	poll.Until(t, wait, "z-1's live event counted", func() bool { return count(t, d, r.Key(), "z-1") == 1 })
	if v := ruleView(t, d, r.Key()); v.Status == contract.RuleDegraded {
		t.Fatalf("the rule is degraded before its history is applied: %q", v.Degraded)
	}

	held = false
	close(release)
	poll.Until(t, 30*time.Second, "the hand-off applied (the store refuses one of a-1..a-3)", func() bool {
		return ruleView(t, d, r.Key()).Status == contract.RuleDegraded
	})
	if n := count(t, d, r.Key(), "z-1"); n != 3 {
		t.Errorf("z-1 counts %d, want 3 (1 live, 2 of history, on the counter it already held); degraded: %q", n, ruleView(t, d, r.Key()).Degraded)
	}
}
