package notify_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
)

// TestStageInFlightTriggerNotAcceptedAfterNextOwnersResolve: member A's first trigger
// of each alert is on the wire, the receiver slow to accept it, when member B joins
// and takes one of the two partitions. B delivers that partition's trigger and then
// its resolve. A's request, made for a partition no longer A's, must not be accepted
// after B's resolve (docs/notifications.md: "a PagerDuty incident is never opened
// after its resolve"): revoking a partition must cancel, or wait for, the requests
// made for it, before the next owner delivers its alerts again.
func TestStageInFlightTriggerNotAcceptedAfterNextOwnersResolve(t *testing.T) {
	t.Parallel() // own broker and receiver; most of its time is waiting for a rebalance
	b := startBroker(t)
	const topic = "alerts2"
	produce := twoPartitionAlerts(t, b, topic, "pager")
	release := make(chan struct{})
	pd := newHoldingPagerDuty(t, release)
	b.Produce(t, controlRecords(t, pd.destination("*"))...)

	start := func() {
		var topics ingest.Topics
		topics.Alerts = topic
		startMember(t, notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-inflight-order", Topics: topics,
			SessionTimeout: 6 * time.Second,
			// An attempt may wait 20s for its answer: longer than B takes to join.
			Sender:         notify.SenderConfig{Timeout: 20 * time.Second, MaxAttempts: 3, MaxElapsed: time.Minute, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Getenv: pdKey,
		})
	}
	produce("inc", contract.StatusFiring)
	start() // A
	poll.Until(t, 10*time.Second, "A's first triggers held by the receiver", func() bool { return pd.holding() == 2 })
	start() // B: takes one partition and delivers its firing again
	produce("inc", contract.StatusResolved)
	// B's trigger and resolve of the partition it took; should revoking wait for A's
	// held request instead, its attempt's 20s timeout lets the rebalance go on.
	poll.Until(t, 60*time.Second, "the next owner's resolve", func() bool { return pd.count("inc0 resolve")+pd.count("inc1 resolve") >= 1 })
	close(release) // the receiver accepts what is still waiting
	poll.Until(t, 30*time.Second, "both resolves accepted", func() bool { return pd.count("inc0 resolve") >= 1 && pd.count("inc1 resolve") >= 1 })
	poll.Until(t, 10*time.Second, "no request held", func() bool { return pd.holding() == 0 })
	if open := pd.opened(); len(open) > 0 {
		t.Errorf("incidents %v are open after their resolve; the receiver accepted, in order: %q", open, pd.seen())
	}
}
