package live_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestAlertsTopicRefusingForeverIsNotReady: the alerts topic refuses every write with
// a retriable error that never clears (NOT_ENOUGH_REPLICAS: a replica gone for good).
// The alert raised is retried without end and its event's offset held, which is right,
// but /readyz keeps answering ready: events go on being read and handled (the
// consumer is held back only once --max-pending-produce-bytes, 64 MiB, is pending), no
// produce error is counted, and nothing says that alerts have stopped leaving the
// process. A produce that fails for good must be visible in /readyz.
func TestAlertsTopicRefusingForeverIsNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out --max-produce-stall: make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	// Its stop's snapshot waits for the undelivered alert in vain: ErrFinalSnapshot.
	d, _ := livetest.StartLiveStoppingWith(t, b, func(c *live.Config) {
		c.MaxConsumerStall = time.Second
		c.MaxProduceStall = time.Second // the limit this asks for; its default is 2m
		c.ConsumerLagInterval = 200 * time.Millisecond
		c.ShutdownTimeout = time.Second
	}, live.ErrFinalSnapshot)
	b.FailProduces(t, "alerts", kerr.NotEnoughReplicas, func(*kmsg.ProduceRequest) bool { return true })
	b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, `{"id":"x","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`)))
	poll.Until(t, 30*time.Second, "the rule applied", func() bool {
		var rd contract.Readiness
		livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/readyz", &rd)
		return rd.Ready
	})
	waitRule(t, d, rule.Key{Scope: "*", ID: "x"}, 1)
	poll.Until(t, wait, "the partition owned", func() bool { return len(d.State().Partitions) == 1 })
	b.Produce(t, livetest.Event("c1", `{"type":"x"}`))
	poll.Until(t, 30*time.Second, "the alert raised", func() bool { return d.AlertsRaised() >= 1 })

	// Bounded wait, events flowing: does /readyz ever say the alerts are not leaving?
	var rd contract.Readiness
	for i := range 50 {
		b.Produce(t, livetest.Event(fmt.Sprintf("other-%d", i), `{"type":"y"}`))
		livetest.GetJSON(t, "http://"+d.HTTPAddr()+"/readyz", &rd)
		if !rd.Ready {
			t.Logf("/readyz: %v", rd.Reasons)
			return
		}
		time.Sleep(200 * time.Millisecond) // pacing: events keep flowing while --max-produce-stall passes
	}
	metrics := livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics")
	t.Fatalf("the alerts topic has refused every write (NOT_ENOUGH_REPLICAS) for 10s+, an alert raised and not delivered, events seen %d, committed offset %d: /readyz still answers ready (%v) and hindsight_produce_errors_total{topic=\"alerts\"} is %q",
		d.EventsSeen(), b.GroupCommitted(t, livetest.Group(t), "events"), rd.Reasons, metricLine(metrics, `hindsight_produce_errors_total{topic="alerts"}`))
}

func metricLine(metrics, prefix string) string {
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return "absent"
}
