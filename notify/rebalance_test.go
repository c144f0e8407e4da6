package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStageLeavesRevokedPartitionsToTheirOwner: a member whose poll loop is still
// handling records of a partition taken from it (here it waits to record an alert
// undelivered, the undelivered topic not writable) hands the rest to the next owner. It
// used to track them in a new tracker and commit that partition past alerts the next
// owner had not delivered, so a rolling restart lost them.
func TestStageLeavesRevokedPartitionsToTheirOwner(t *testing.T) {
	b := startBroker(t)
	const topic = "alerts2"
	adm := kadm.NewClient(b.Client(t))
	if _, err := adm.CreateTopic(context.Background(), 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	holds := []*sink{newSink(t, holdUntil(release)), newSink(t, holdUntil(release))}
	var ctrls []*rule.Control
	for p, h := range holds {
		ctrls = append(ctrls, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: fmt.Sprintf("hold%d", p), Type: rule.DestWebhook, URL: h.srv.URL + "/hook"}))
	}
	livetest.ProduceSync(t, b, controlRecords(t, ctrls...)...)

	// Partition 1: three alerts to hold1 (one held at the receiver, one queued, one
	// beyond the queue: recorded undelivered from the poll loop), then three without
	// destinations. Partition 0: three without destinations.
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	var recs []*kgo.Record
	want := map[string]bool{}
	for p := range int32(2) {
		for i := range 3 * int(p) {
			id := fmt.Sprintf("p%d-a%d", p, i)
			want[id] = true
			v, _ := json.Marshal(alertFor(id, "c-1", []string{fmt.Sprintf("hold%d", p)}))
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte("c-1"), Value: v})
		}
		for i := range 3 {
			a := alertFor(fmt.Sprintf("p%d-n%d", p, i), "c-1", nil)
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte("c-1"), Value: a.AppendJSON(nil)})
		}
	}
	if err := pcl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	start := func(undelivered string) (stop func()) {
		var topics ingest.Topics
		topics.Alerts, topics.Undelivered = topic, undelivered
		st, err := notify.New(notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-rebalance-test", Topics: topics,
			QueueSize: 1, Concurrency: 1, SessionTimeout: 6 * time.Second,
			Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: livetest.Logger(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- st.Run(ctx) }()
		var once sync.Once
		stop = func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			})
		}
		t.Cleanup(stop)
		return stop
	}
	held := func() int { return holds[0].requests() + holds[1].requests() }

	// A owns both partitions; its poll loop stays on partition 1's alert beyond the queue.
	stopA := start("alerts.undelivered.unwritable")
	livetest.WaitFor(t, 20*time.Second, "A's first delivery held", func() bool { return held() == 1 })
	time.Sleep(500 * time.Millisecond)

	// B joins: partition 1 moves to it, and B starts over at its first alert.
	stopB := start("alerts.undelivered")
	livetest.WaitFor(t, 30*time.Second, "B's first delivery held", func() bool { return held() == 2 })
	livetest.WaitFor(t, 10*time.Second, "B's undelivered record", func() bool {
		return len(b.Consume(t, "alerts.undelivered", 1, time.Second)) == 1
	})
	time.Sleep(300 * time.Millisecond) // B commits what it handled

	// A rolling restart: A stops, then B; C takes over with the receivers answering.
	stopA()
	stopB()
	close(release)
	start("alerts.undelivered")
	undelivered := map[string]bool{}
	for _, r := range b.Consume(t, "alerts.undelivered", 100, 3*time.Second) {
		var u contract.Undelivered
		if err := json.Unmarshal(r.Value, &u); err != nil {
			t.Fatal(err)
		}
		undelivered[u.Alert.AlertID] = true
	}
	var lost []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got := map[string]bool{}
		for _, h := range holds {
			for _, k := range h.delivered() {
				got[strings.TrimSuffix(k, ":firing")] = true
			}
		}
		lost = lost[:0]
		for id := range want {
			if !got[id] && !undelivered[id] {
				lost = append(lost, id)
			}
		}
		if len(lost) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(lost) > 0 {
		t.Errorf("after a rolling restart, alerts neither delivered nor recorded undelivered: %v", lost)
	}
}
