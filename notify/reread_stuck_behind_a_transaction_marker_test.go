package notify_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRereadStuckBehindATransactionMarker: partition 0 of a two-partition alerts topic
// holds one alert written in a committed transaction, then nothing more. The first
// member reads it and, reading the commit marker too (KeepControlRecords), commits
// past the marker. A member started later rereads partition 0 up to that committed
// offset (reread.go) with a client that drops markers: the marker never comes, the
// partition is never done, and adjustFetchOffsets never returns, so no partition is
// fetched: an alert written to partition 1 is never delivered.
func TestRereadStuckBehindATransactionMarker(t *testing.T) {
	b := startBroker(t)
	const topic = "alerts-txn-2p"
	if _, err := kadm.NewClient(b.Client(t)).CreateTopic(context.Background(), 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	hookURL, received := keyRecorder(t)
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hookURL + "/hook"}))...)
	var topics ingest.Topics
	topics.Alerts = topic
	group := "notify-reread-marker"
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group, Topics: topics,
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	value := func(id string) []byte {
		a := alertFor(id, "c-1", []string{"ops"})
		a.Status = contract.StatusFiring
		v, _ := json.Marshal(a)
		return v
	}
	txn := b.TxnClient(t, "alerts-writer", []string{topic}, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	kafkatest.Transact(t, txn, kgo.TryCommit, &kgo.Record{Topic: topic, Partition: 0, Key: []byte("k"), Value: value("x")})

	_, stop := startMember(t, cfg)
	poll.Until(t, 15*time.Second, "x delivered", func() bool { return slices.Contains(received(), "x:firing") })
	poll.Until(t, 15*time.Second, "partition 0 committed past its commit marker", func() bool { return b.GroupCommitted(t, group, topic) >= 2 })
	stop()

	startMember(t, cfg)
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err := pcl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Partition: 1, Key: []byte("k"), Value: value("a2")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "a2, written to partition 1 after the restart, delivered (the reread of partition 0, which ends in a commit marker, holds every partition's fetch)",
		func() bool { return slices.Contains(received(), "a2:firing") })
}
