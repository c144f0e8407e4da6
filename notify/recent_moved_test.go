package notify_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRecentDoesNotShowRetryingAfterItsPartitionMoved: member A gives up on both
// alerts (500 twice) while the undelivered topic refuses their records, so it keeps
// retrying those writes. Member B joins and takes one partition; the topic then takes
// records again. A has stopped the moved partition's work (its next owner, B, handles
// that alert), so A's /v1/notify/alerts must not go on showing that delivery as
// "retrying" for ever: a delivery stopped so is shown "queued" with the moved reason
// (as when a retry or a queued undelivered record is stopped by a revoke).
func TestRecentDoesNotShowRetryingAfterItsPartitionMoved(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("waits out a rebalance (4 s): make test runs it")
	}
	t.Parallel()
	b := startBroker(t)
	const topic = "alerts2"
	produce := twoPartitionAlerts(t, b, topic, "hook")
	hook := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		return fail(true, w, http.StatusInternalServerError)
	})
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hook", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	var refusing atomic.Bool
	refusing.Store(true)
	b.RefuseProduces(t, "alerts.undelivered", refusing.Load)

	produce("u", contract.StatusFiring)
	cfg := func() notify.Config {
		var topics ingest.Topics
		topics.Alerts = topic
		return notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-recent-moved", Topics: topics,
			SessionTimeout: 6 * time.Second,
			Sender: notify.SenderConfig{Timeout: 2 * time.Second, MaxAttempts: 2, MaxElapsed: 10 * time.Second,
				InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
		}
	}
	a, _ := startMember(t, cfg()) // A
	poll.Until(t, 10*time.Second, "A gave up on both alerts (2 attempts each)", func() bool { return hook.requests() == 4 })
	time.Sleep(500 * time.Millisecond) // A's undelivered writes are being refused and retried
	startMember(t, cfg())              // B: takes one partition
	poll.Until(t, 30*time.Second, "B handling its partition's alert", func() bool { return hook.requests() >= 5 })
	refusing.Store(false)
	b.Consume(t, "alerts.undelivered", 2, 20*time.Second)
	time.Sleep(2 * time.Second) // A's retained alert's record lands; nothing else is A's

	for _, d := range a.Recent() {
		for _, ds := range d.Destinations {
			t.Logf("A's Recent: alert %s (partition %d) at %s: %s, %d attempts, reason %q", d.Alert.AlertID, d.Partition, ds.Name, ds.State, ds.Attempts, ds.Reason)
			if ds.State == contract.DeliveryRetrying {
				t.Errorf("A shows alert %s (partition %d) as %q (%d attempts, %q) though it gave up on it and its partition went to B",
					d.Alert.AlertID, d.Partition, ds.State, ds.Attempts, ds.Reason)
			}
		}
	}
}
