package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestUndeliveredWritesDoNotStallOtherDestinations: an alert given up on as it is read
// (its destination does not exist) is recorded on alerts.undelivered, and while that
// write fails and is retried, the alerts after it still reach their destinations: the
// retries once ran on the loop that reads the alerts, and stopped every delivery. Past
// UndeliveredWaiting records waiting, reading waits, counted as the limit reached. The
// given-up alerts' offsets are not committed until their records land, so nothing is
// lost.
func TestUndeliveredWritesDoNotStallOtherDestinations(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	sink := newSink(t, ok200)
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ok", Type: rule.DestWebhook, URL: sink.srv.URL + "/hook"}))...)
	// The topic must exist before its produces can be refused by id.
	b.Produce(t, &kgo.Record{Topic: "alerts.undelivered", Value: []byte("{}")})
	var refusing atomic.Bool
	refusing.Store(true)
	b.RefuseProduces(t, "alerts.undelivered", refusing.Load)

	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-undelivered-test", UndeliveredWaiting: 1,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Registerer: reg, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	rec := func(id, dest string) *kgo.Record {
		v, _ := json.Marshal(alertFor(id, "c-1", []string{dest}))
		return &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v}
	}
	b.Produce(t, rec("lost", "nowhere"), rec("a1", "ok"), rec("a2", "ok"))
	poll.Until(t, 20*time.Second, "a1 and a2 delivered while the undelivered write fails", func() bool {
		return len(sink.delivered()) == 2
	})
	poll.Until(t, 20*time.Second, "the failed undelivered write counted", func() bool {
		return promtest.Sum(t, reg, "hindsight_notify_undelivered_write_errors_total") > 0
	})
	// Nothing past the given-up alert is committed while its record is not written.
	adm := kadm.NewClient(b.Client(t))
	offsets := func() int64 {
		os, err := adm.FetchOffsets(context.Background(), "notify-undelivered-test")
		if err != nil {
			t.Fatal(err)
		}
		o, ok := os.Lookup("alerts", 0)
		if !ok {
			return -1
		}
		return o.At
	}
	time.Sleep(200 * time.Millisecond) // a few commit intervals
	if at := offsets(); at > 0 {
		t.Errorf("committed offset %d while the given-up alert at 0 is not recorded", at)
	}

	// The writer holds "lost"; "lost2" waits for it, the one room there is; "lost3"
	// finds no room, and reading waits, so a3 waits too.
	b.Produce(t, rec("lost2", "nowhere"), rec("lost3", "nowhere"), rec("a3", "ok"))
	poll.Until(t, 20*time.Second, "the limit of records waiting reached", func() bool {
		return promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitUndeliveredWaiting) == 1
	})
	if got := promtest.Value(t, reg, "hindsight_limit", "name", notify.LimitUndeliveredWaiting); got != 1 {
		t.Errorf("limit shown as %v, want 1", got)
	}

	refusing.Store(false)
	recs := b.Consume(t, "alerts.undelivered", 4, 30*time.Second)
	var lost []string
	for _, r := range recs[1:] {
		var u contract.Undelivered
		if err := json.Unmarshal(r.Value, &u); err != nil {
			t.Fatal(err)
		}
		if u.Destination != "nowhere" {
			t.Errorf("undelivered record %+v, want one to nowhere", u)
		}
		lost = append(lost, u.Alert.AlertID)
	}
	if got := strings.Join(lost, " "); got != "lost lost2 lost3" {
		t.Errorf("undelivered records of %q, want lost lost2 lost3", got)
	}
	poll.Until(t, 20*time.Second, "a3 delivered", func() bool { return len(sink.delivered()) == 3 })
	poll.Until(t, 20*time.Second, "all six alerts committed", func() bool { return offsets() == 6 })
}

// TestUndeliveredOfAMovedPartitionIsTheNewOwners: member A gives up on the alerts of
// two partitions as it reads them (no destination), its undelivered topic refusing
// writes. B joins and one partition moves to it; B reads that partition again and
// records its alerts undelivered itself. A does not record the moved partition's
// alerts as well once its writes succeed: they are the next owner's (as a worker's
// delivery halts "moved", neither handled nor recorded). A review found A wrote them
// all, each alert undelivered twice.
func TestUndeliveredOfAMovedPartitionIsTheNewOwners(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("waits out a rebalance (4 s): make test runs it")
	}
	t.Parallel() // own broker and receivers; most of its time is waiting for a rebalance or a retry
	b := startBroker(t)
	const topic, undelA = "alerts2", "alerts.undelivered.a"
	adm := kadm.NewClient(b.Client(t))
	if _, err := adm.CreateTopic(context.Background(), 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, undelA); err != nil {
		t.Fatal(err)
	}
	var refusing atomic.Bool
	refusing.Store(true)
	b.RefuseProduces(t, undelA, refusing.Load)

	const perPartition = 4
	produceToNowhere(t, b, topic, perPartition)

	start := func(undelivered string, reg *prometheus.Registry) {
		var topics ingest.Topics
		topics.Alerts, topics.Undelivered = topic, undelivered
		startMember(t, notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-moved-test", Topics: topics,
			SessionTimeout: 6 * time.Second, UndeliveredWaiting: 100, Registerer: reg,
			Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
		})
	}

	// A reads all the alerts; their records wait, refused.
	regA := prometheus.NewRegistry()
	start(undelA, regA)
	poll.Until(t, 20*time.Second, "A read every alert", func() bool {
		return promtest.Sum(t, regA, "hindsight_notify_alerts_total") == 2*perPartition
	})
	poll.Until(t, 20*time.Second, "A's writes refused", func() bool {
		return promtest.Sum(t, regA, "hindsight_notify_undelivered_write_errors_total") > 0
	})

	// B joins: one partition moves to it, and B records its alerts.
	start("alerts.undelivered", prometheus.NewRegistry())
	bRecs := b.Consume(t, "alerts.undelivered", perPartition, 30*time.Second)
	if len(bRecs) != perPartition {
		t.Fatalf("B recorded %d alerts undelivered, want %d", len(bRecs), perPartition)
	}
	var u contract.Undelivered
	if err := json.Unmarshal(bRecs[0].Value, &u); err != nil {
		t.Fatal(err)
	}
	moved := u.AlertsPartition
	t.Logf("partition %d moved to B", moved)

	// A's writes succeed again: it records what it still owns, and only that.
	refusing.Store(false)
	// Its waiting records go in one write: once its own have landed, so has the rest.
	poll.Until(t, 20*time.Second, "A's records of its own partition", func() bool {
		return promtest.Sum(t, regA, "hindsight_notify_deliveries_total") >= perPartition
	})
	aRecs := b.Consume(t, undelA, 2*perPartition, 2*time.Second)
	if len(aRecs) != perPartition {
		t.Errorf("A recorded %d alerts undelivered, want its own partition's %d", len(aRecs), perPartition)
	}
	var stale []string
	for _, r := range aRecs {
		var u contract.Undelivered
		if err := json.Unmarshal(r.Value, &u); err != nil {
			t.Fatal(err)
		}
		if u.AlertsPartition == moved {
			stale = append(stale, u.Alert.AlertID)
		}
	}
	if len(stale) > 0 {
		t.Errorf("A recorded undelivered %d alerts of partition %d after it moved to B (which recorded them too): %v", len(stale), moved, stale)
	}
}

// TestUndeliveredOfAPartitionBackToItsMember: while the undelivered topic refuses
// writes, a partition moves from A to B and back to A (B leaves before any of its
// records land). A reads the partition again and records its alerts undelivered once;
// the records of its earlier read, dropped from its writer, say the partition was
// reassigned, not that another member delivers them, and each alert's newest delivery
// state in Recent (the one the console shows) is undelivered.
func TestUndeliveredOfAPartitionBackToItsMember(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("waits out a rebalance (3 s): make test runs it")
	}
	t.Parallel()
	b := startBroker(t)
	const topic = "alerts2"
	adm := kadm.NewClient(b.Client(t))
	if _, err := adm.CreateTopic(context.Background(), 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var refusing atomic.Bool
	refusing.Store(true)
	b.RefuseProduces(t, "alerts.undelivered", refusing.Load)

	const perPartition = 2
	produceToNowhere(t, b, topic, perPartition)

	start := func(reg *prometheus.Registry) (*notify.Stage, func()) {
		var topics ingest.Topics
		topics.Alerts, topics.Undelivered = topic, "alerts.undelivered"
		return startMember(t, notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-back-test", Topics: topics,
			SessionTimeout: 6 * time.Second, UndeliveredWaiting: 100, Registerer: reg,
			Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
		})
	}

	regA := prometheus.NewRegistry()
	stA, _ := start(regA)
	poll.Until(t, 20*time.Second, "A read every alert", func() bool {
		return promtest.Sum(t, regA, "hindsight_notify_alerts_total") == 2*perPartition
	})
	poll.Until(t, 20*time.Second, "A's writes refused", func() bool {
		return promtest.Sum(t, regA, "hindsight_notify_undelivered_write_errors_total") > 0
	})

	// B joins, takes one partition, reads it (its writes refused too), and leaves.
	regB := prometheus.NewRegistry()
	_, stopB := start(regB)
	poll.Until(t, 30*time.Second, "B read the moved partition", func() bool {
		return promtest.Sum(t, regB, "hindsight_notify_alerts_total") == perPartition
	})
	stopB()
	// The partition is A's again: A reads it again from its committed offset.
	poll.Until(t, 30*time.Second, "A read the moved partition again", func() bool {
		return promtest.Sum(t, regA, "hindsight_notify_alerts_total") == 3*perPartition
	})

	refusing.Store(false)
	// Every alert is recorded undelivered once, by A, and committed.
	got := b.Consume(t, "alerts.undelivered", 2*perPartition, 30*time.Second)
	if len(got) != 2*perPartition {
		t.Fatalf("%d undelivered records, want %d", len(got), 2*perPartition)
	}
	poll.Until(t, 20*time.Second, "A's deliveries counted", func() bool {
		return promtest.Sum(t, regA, "hindsight_notify_deliveries_total") >= 2*perPartition
	})
	time.Sleep(time.Second) // let any leftover writer batch settle

	// Recent is newest first: the console shows each alert's first entry.
	newest := map[string]contract.DestinationState{}
	for _, d := range stA.Recent() {
		if _, ok := newest[d.Alert.AlertID]; !ok {
			newest[d.Alert.AlertID] = d.Destinations[0]
		}
		if r := d.Destinations[0].Reason; strings.Contains(r, "another notify member") {
			t.Errorf("alert %s: Recent says %q, though no other member owns its partition", d.Alert.AlertID, r)
		}
	}
	if len(newest) != 2*perPartition {
		t.Errorf("Recent holds %d alerts, want %d", len(newest), 2*perPartition)
	}
	for id, s := range newest {
		if s.State != contract.DeliveryUndelivered {
			t.Errorf("alert %s: newest delivery state %q (%s), want undelivered", id, s.State, s.Reason)
		}
	}
}

// produceToNowhere writes n alerts to each of topic's two partitions, p<P>-a<i>, each
// naming a destination that does not exist: each is given up on as it is read.
func produceToNowhere(t *testing.T, b *kafkatest.Broker, topic string, n int) {
	t.Helper()
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	var recs []*kgo.Record
	for p := range int32(2) {
		for i := range n {
			v, _ := json.Marshal(alertFor(fmt.Sprintf("p%d-a%d", p, i), "c-1", []string{"nowhere"}))
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte("c-1"), Value: v})
		}
	}
	if err := pcl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}
