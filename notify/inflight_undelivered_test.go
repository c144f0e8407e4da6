package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStageInFlightUndeliveredRecordNotWrittenAfterRevoke: member A gives up on each
// alert (its receiver answers the first request 404) and its undelivered records are
// on the wire, the broker slow to take them, when member B joins and takes one of the
// two partitions. B reads that partition's alert again and delivers it (the receiver
// takes it now). A's record of the same alert must not land after: the stage means to
// record an alert undelivered only while its partition is still this member's ("recorded
// for the earlier read too, it would be ... undelivered here and delivered there"), so
// revoking a partition must wait for the writes made for it.
func TestStageInFlightUndeliveredRecordNotWrittenAfterRevoke(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("waits out a rebalance (5 s): make test runs it")
	}
	t.Parallel() // own broker and receiver; most of its time is waiting for a rebalance
	b := startBroker(t)
	const topic = "alerts2"
	produce := twoPartitionAlerts(t, b, topic, "hook")
	adm := kadm.NewClient(b.Client(t))
	hook := newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) bool { return fail(n == 0, w, http.StatusNotFound) })
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hook", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)

	// The broker holds every produce to the undelivered topic until release.
	md, err := adm.Metadata(context.Background(), "alerts.undelivered")
	if err != nil {
		t.Fatal(err)
	}
	undeliveredID := md.Topics["alerts.undelivered"].ID
	release := make(chan struct{})
	var held atomic.Int32
	c := b.Cluster
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		for _, tp := range pr.Topics {
			if tp.Topic == "alerts.undelivered" || tp.TopicID == undeliveredID {
				held.Add(1)
				c.SleepControl(func() { <-release })
				break
			}
		}
		return nil, nil, false
	})

	produce("u", contract.StatusFiring)
	start := func() {
		var topics ingest.Topics
		topics.Alerts = topic
		startMember(t, notify.Config{
			Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-inflight-undelivered", Topics: topics,
			SessionTimeout: 6 * time.Second,
			Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 1, AllowPrivate: true},
			CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
		})
	}
	start() // A
	poll.Until(t, 10*time.Second, "A's undelivered records held by the broker", func() bool {
		return hook.requests() == 2 && held.Load() >= 1
	})
	start() // B: takes one partition and delivers its alert
	// Revoking waits for A's writes (up to 30 s), and so does the rebalance: they are
	// let go after 5 s, and B then has nothing to deliver.
	poll.Within(5*time.Second, func() bool { return len(hook.delivered()) > 0 })
	close(release)
	undelivered := map[string]int{}
	for _, r := range b.Consume(t, "alerts.undelivered", 2, 20*time.Second) {
		var u contract.Undelivered
		if err := json.Unmarshal(r.Value, &u); err != nil {
			t.Fatal(err)
		}
		undelivered[u.Alert.AlertID]++
	}
	for _, k := range hook.delivered() {
		if id := strings.TrimSuffix(k, ":firing"); undelivered[id] > 0 {
			t.Errorf("alert %s was delivered (by the partition's next owner) and recorded undelivered (by the member it was revoked from)", id)
		}
	}
}
