package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPendingAlertsOfARevokedPartitionAreNoLongerCounted: a member holding one pending
// alert in each of two partitions (its delivery held at the receiver) counts 2 in
// hindsight_notify_pending_alerts; once another member joins and takes one partition,
// that partition's pending alert is the new owner's, and the first member counts 1.
// Counted on, it would show alerts this member no longer holds and, at
// --notify-max-pending, hold its reading for ever: nothing of the revoked partition is
// ever handled here again. The mutation hunt dropped the revoke's subtraction and no
// test failed.
func TestPendingAlertsOfARevokedPartitionAreNoLongerCounted(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const topic = "alerts2"
	if _, err := kadm.NewClient(b.Client(t)).CreateTopic(context.Background(), 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hold := newSink(t, holdUntil(release))
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hold", Type: rule.DestWebhook, URL: hold.srv.URL + "/hook"}))...)
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	var recs []*kgo.Record
	for p := range int32(2) {
		v, _ := json.Marshal(alertFor(fmt.Sprintf("p%d", p), "c-1", []string{"hold"}))
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte("c-1"), Value: v})
	}
	if err := pcl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	start := func(reg prometheus.Registerer) {
		var topics ingest.Topics
		topics.Alerts = topic
		startMember(t, notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-pending-revoke", Topics: topics,
			Concurrency: 2, SessionTimeout: 6 * time.Second, Registerer: reg,
			Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
		})
	}
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	pending := func(reg *prometheus.Registry) func() bool {
		return func() bool { return promtest.Sum(t, reg, "hindsight_notify_pending_alerts") == 1 }
	}
	start(regA)
	poll.Until(t, 20*time.Second, "both alerts held at the receiver", func() bool { return hold.requests() == 2 })
	if n := promtest.Sum(t, regA, "hindsight_notify_pending_alerts"); n != 2 {
		t.Fatalf("A's hindsight_notify_pending_alerts = %v with one held alert in each of its two partitions, want 2", n)
	}
	start(regB)
	poll.Until(t, 30*time.Second, "B's pending alert (its partition's held one, delivered again)", pending(regB))
	if !poll.Within(10*time.Second, pending(regA)) {
		t.Errorf("A's hindsight_notify_pending_alerts = %v after one of its two partitions moved to B, want 1 (its own partition's held alert)",
			promtest.Sum(t, regA, "hindsight_notify_pending_alerts"))
	}
}
