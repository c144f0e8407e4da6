package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStageLeavesRevokedPartitionsToTheirOwner: a member still handling records of a
// partition taken from it (here its records of alerts given up on wait to be written,
// its undelivered topic not writable at first) hands the rest to the next owner. It
// used to track them in a new tracker and commit that partition past alerts the next
// owner had not delivered, so a rolling restart lost them. (The poll loop itself once
// waited for those writes; since it hands them to a writer, this member's poll loop
// goes on.)
func TestStageLeavesRevokedPartitionsToTheirOwner(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("waits out a rebalance (6 s): make test runs it")
	}
	t.Parallel() // own broker and receivers; most of its time is waiting for a rebalance or a retry
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
	b.Produce(t, controlRecords(t, ctrls...)...)

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

	start := func(undelivered string) (reg *prometheus.Registry, stop func()) {
		var topics ingest.Topics
		topics.Alerts, topics.Undelivered = topic, undelivered
		reg = prometheus.NewRegistry()
		_, stop = startMember(t, notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-rebalance-test", Topics: topics,
			QueueSize: 1, Concurrency: 1, SessionTimeout: 6 * time.Second,
			Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Registerer: reg,
		})
		return reg, stop
	}
	held := func() int { return holds[0].requests() + holds[1].requests() }

	// A owns both partitions; partition 1's alerts beyond the queue wait to be recorded:
	// waited for as A having read all nine records and given up one on hold1's full queue.
	regA, stopA := start("alerts.undelivered.unwritable")
	poll.Until(t, 20*time.Second, "A's first delivery held", func() bool { return held() == 1 })
	poll.Until(t, 20*time.Second, "A to read all 9 alerts and give one up on hold1's full queue", func() bool {
		return promtest.Sum(t, regA, "hindsight_notify_alerts_total") == 9 &&
			promtest.Value(t, regA, "hindsight_notify_queue_full_total", "destination", "hold1") >= 1
	})

	// B joins: partition 1 moves to it, and B starts over at its first alert (and gives
	// up one or two as its queue fills, depending on when its worker takes the first).
	regB, stopB := start("alerts.undelivered")
	poll.Until(t, 30*time.Second, "B's first delivery held", func() bool { return held() == 2 })
	poll.Until(t, 10*time.Second, "B's undelivered record", func() bool {
		return len(b.Consume(t, "alerts.undelivered", 1, time.Second)) >= 1
	})
	// B has handled what it can once it has read partition 1 to its end (its six records).
	poll.Until(t, 10*time.Second, "B to read partition 1's six records", func() bool {
		return promtest.Sum(t, regB, "hindsight_notify_alerts_total") == 6
	})

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
	poll.WithinEvery(10*time.Second, 100*time.Millisecond, func() bool {
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
		return len(lost) == 0
	})
	if len(lost) > 0 {
		t.Errorf("after a rolling restart, alerts neither delivered nor recorded undelivered: %v", lost)
	}
}

// TestStageNoTriggerAfterResolveAcrossRebalance: a PagerDuty-like receiver (a trigger
// opens its dedup_key's incident, a resolve closes it) answers each alert's first
// trigger 503 with Retry-After: 10. Member A holds both alerts in backoff; member B
// joins, takes one partition, delivers its firing and then its resolve. A's stale
// retry of that firing, run on after the partition was revoked, must not reopen the
// incident: docs/notifications.md promises "a PagerDuty incident is never opened after
// its resolve".
func TestStageNoTriggerAfterResolveAcrossRebalance(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out a 10s Retry-After and a rebalance: make test runs it")
	}
	t.Parallel() // own broker and receivers; most of its time is waiting for a rebalance or a retry
	b := startBroker(t)
	const topic = "alerts2"
	produce := twoPartitionAlerts(t, b, topic, "pager")
	pd := newPagerDuty(t, "10")
	b.Produce(t, controlRecords(t, pd.destination("*"))...)

	start := func() {
		var topics ingest.Topics
		topics.Alerts = topic
		st, err := notify.New(notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-rebalance-order", Topics: topics,
			SessionTimeout: 6 * time.Second,
			Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, MaxElapsed: 40 * time.Second, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Getenv: pdKey,
		})
		if err != nil {
			t.Fatal(err)
		}
		runStage(t, st)
	}
	produce("inc", contract.StatusFiring)
	start() // A
	poll.Until(t, 10*time.Second, "A's first triggers answered 503", func() bool { return pd.triggered("inc0") == 1 && pd.triggered("inc1") == 1 })
	start() // B: takes one partition and delivers its firing again at once
	poll.Until(t, 9*time.Second, "B's trigger of the partition it took", func() bool { return pd.triggered("inc0") == 2 || pd.triggered("inc1") == 2 })
	produce("inc", contract.StatusResolved)
	// A's retries come 10s after its first attempts; wait past them.
	poll.Until(t, 30*time.Second, "every incident's resolve and every retry", func() bool {
		n := 0
		for _, l := range pd.seen() {
			if strings.HasSuffix(l, " resolve") {
				n++
			}
		}
		return n == 2 && pd.triggered("inc0") >= 2 && pd.triggered("inc1") >= 2
	})
	// Time passing is the scenario here: a stale retry of A's (the defect) is a request
	// that arrives late, and the fixed stage sends none, so there is no event to wait
	// for. It would come at A's first attempt plus the Retry-After, as the retry of the
	// partition A kept, which the poll above waited for: two seconds cover the spread.
	time.Sleep(2 * time.Second)
	if open := pd.opened(); len(open) > 0 {
		t.Errorf("incidents %v are open after their resolve; the receiver saw, in order: %q", open, pd.seen())
	}
}

// TestStageStaleRecordsAfterPartitionComesBack: member A's poll loop is stuck on a
// batch of partition 1 (a1, a2 and a3 have no destination; their undelivered topic is
// not there yet, and with one record allowed to wait for the writer, a3 waits for
// room), a0 held at the receiver. B joins and takes partition 1, then leaves:
// partition 1 comes back to A, which reads it again from the committed offset (0: a0
// is not delivered). A's poll loop then goes on with the rest of the stale batch (a4),
// which must not be tracked under the new assignment: it committed partition 1 past
// a0, which no one had delivered or recorded undelivered, and after a restart a0 was
// lost.
func TestStageStaleRecordsAfterPartitionComesBack(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out two rebalances: make test runs it")
	}
	t.Parallel() // own broker and receivers; most of its time is waiting for a rebalance or a retry
	b := startBroker(t)
	const topic = "alerts2"
	adm := kadm.NewClient(b.Client(t))
	if _, err := adm.CreateTopic(context.Background(), 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	hold := newSink(t, holdUntil(release))
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hold", Type: rule.DestWebhook, URL: hold.srv.URL + "/hook"}))...)

	// Partition 1: a0 (held at the receiver), a1, a2 and a3 (to a destination that does
	// not exist), a4 (queued behind a0), then three alerts without destinations.
	// Partition 0: three without destinations.
	pcl := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	var recs []*kgo.Record
	for p := range int32(2) {
		for i := range 5 * int(p) {
			name := "hold"
			if i >= 1 && i <= 3 {
				name = "nowhere"
			}
			v, _ := json.Marshal(alertFor(fmt.Sprintf("p%d-a%d", p, i), "c-1", []string{name}))
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
	const group = "notify-reassign"
	start := func(undelivered string) (reg *prometheus.Registry, stop func()) {
		var topics ingest.Topics
		topics.Alerts, topics.Undelivered = topic, undelivered
		reg = prometheus.NewRegistry()
		_, stop = startMember(t, notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group, Topics: topics,
			QueueSize: 10, Concurrency: 1, SessionTimeout: 6 * time.Second, UndeliveredWaiting: 1,
			Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Registerer: reg,
		})
		return reg, stop
	}
	committed1 := func() int64 {
		os, err := adm.FetchOffsets(context.Background(), group)
		if err != nil {
			return -1
		}
		o, ok := os.Lookup(topic, 1)
		if !ok {
			return -1
		}
		return o.At
	}

	const late = "alerts.undelivered.late"
	regA, stopA := start(late) // A's poll loop stays on partition 1's a3
	poll.Until(t, 20*time.Second, "A's first delivery held", func() bool { return hold.requests() == 1 })
	poll.Until(t, 20*time.Second, "A's poll loop to wait for room for a3's undelivered record", func() bool {
		return promtest.Value(t, regA, "hindsight_limit_reached_total", "name", notify.LimitUndeliveredWaiting) >= 1
	})
	regB, stopB := start("alerts.undelivered") // partition 1 moves to B
	poll.Until(t, 30*time.Second, "B's first delivery held", func() bool { return hold.requests() == 2 })
	poll.Until(t, 20*time.Second, "B to read partition 1's eight records and record a1..a3 undelivered", func() bool {
		return promtest.Sum(t, regB, "hindsight_notify_alerts_total") == 8 &&
			len(b.Consume(t, "alerts.undelivered", 3, time.Second)) == 3
	})
	stopB() // partition 1 comes back to A
	poll.Until(t, 20*time.Second, "A alone in the group, owning both partitions", func() bool {
		groups, err := adm.DescribeGroups(context.Background(), group)
		if err != nil {
			return false
		}
		g := groups[group]
		if g.State != "Stable" || len(g.Members) != 1 {
			return false
		}
		c, ok := g.Members[0].Assigned.AsConsumer()
		n := 0
		for _, tp := range c.Topics {
			n += len(tp.Partitions)
		}
		return ok && n == 2
	})
	if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, late); err != nil {
		t.Fatal(err)
	}
	// A's poll loop goes on: its records land, then the stale a4, n0..n2; it reads
	// partition 1 again from a0, whose delivery is held once more. A commit past a0 (the
	// bug) would follow, at the latest at A's stop below, which commits what it tracks.
	poll.Until(t, 20*time.Second, "A's undelivered records", func() bool {
		return len(b.Consume(t, late, 1, time.Second)) > 0
	})
	poll.Until(t, 20*time.Second, "A's delivery of a0 again, partition 1 read from its committed offset", func() bool {
		return hold.requests() == 3
	})
	at := committed1()

	// A rolling restart: A stops, C takes over with the receiver answering.
	stopA()
	close(release)
	start("alerts.undelivered")
	undelivered := map[string]bool{}
	for _, tp := range []string{"alerts.undelivered", late} {
		for _, r := range b.Consume(t, tp, 100, 2*time.Second) {
			var u contract.Undelivered
			if err := json.Unmarshal(r.Value, &u); err != nil {
				t.Fatal(err)
			}
			undelivered[u.Alert.AlertID] = true
		}
	}
	var lost []string
	poll.WithinEvery(10*time.Second, 100*time.Millisecond, func() bool {
		got := map[string]bool{}
		for _, k := range hold.delivered() {
			got[strings.TrimSuffix(k, ":firing")] = true
		}
		lost = lost[:0]
		for _, id := range []string{"p1-a0", "p1-a1", "p1-a2", "p1-a3", "p1-a4"} {
			if !got[id] && !undelivered[id] {
				lost = append(lost, id)
			}
		}
		return len(lost) == 0
	})
	if len(lost) > 0 {
		t.Errorf("partition 1 was committed at %d; alerts neither delivered nor recorded undelivered: %v", at, lost)
	}
}
