package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// refuseUndelivered makes the broker refuse every produce to alerts.undelivered while
// refusing is true (as a broker whose ACLs, or a topic's loss, stop the stage's writes).
func refuseUndelivered(t *testing.T, b *kafkatest.Broker, refusing *atomic.Bool) {
	t.Helper()
	c := b.Cluster
	md, err := kadm.NewClient(b.Client(t)).Metadata(context.Background(), "alerts.undelivered")
	if err != nil {
		t.Fatal(err)
	}
	id := md.Topics["alerts.undelivered"].ID
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		if !refusing.Load() {
			return nil, nil, false
		}
		for _, tp := range pr.Topics {
			if tp.Topic != "alerts.undelivered" && tp.TopicID != id {
				return nil, nil, false
			}
		}
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, tp := range pr.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = tp.Topic, tp.TopicID
			for _, p := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
}

// TestUndeliveredWritesDoNotStallOtherDestinations: an alert given up on as it is read
// (its destination does not exist) is recorded on alerts.undelivered, and while that
// write fails and is retried, the alerts after it still reach their destinations: the
// retries once ran on the loop that reads the alerts, and stopped every delivery. Past
// UndeliveredWaiting records waiting, reading waits, counted as the limit reached. The
// given-up alerts' offsets are not committed until their records land, so nothing is
// lost.
func TestUndeliveredWritesDoNotStallOtherDestinations(t *testing.T) {
	b := startBroker(t)
	sink := newSink(t, ok200)
	livetest.ProduceSync(t, b, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ok", Type: rule.DestWebhook, URL: sink.srv.URL + "/hook"}))...)
	// The topic must exist before its produces can be refused by id.
	livetest.ProduceSync(t, b, &kgo.Record{Topic: "alerts.undelivered", Value: []byte("{}")})
	var refusing atomic.Bool
	refusing.Store(true)
	refuseUndelivered(t, b, &refusing)

	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-undelivered-test", UndeliveredWaiting: 1,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Registerer: reg, Logger: livetest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	rec := func(id, dest string) *kgo.Record {
		v, _ := json.Marshal(alertFor(id, "c-1", []string{dest}))
		return &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v}
	}
	livetest.ProduceSync(t, b, rec("lost", "nowhere"), rec("a1", "ok"), rec("a2", "ok"))
	livetest.WaitFor(t, 20*time.Second, "a1 and a2 delivered while the undelivered write fails", func() bool {
		return len(sink.delivered()) == 2
	})
	livetest.WaitFor(t, 20*time.Second, "the failed undelivered write counted", func() bool {
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
	livetest.ProduceSync(t, b, rec("lost2", "nowhere"), rec("lost3", "nowhere"), rec("a3", "ok"))
	livetest.WaitFor(t, 20*time.Second, "the limit of records waiting reached", func() bool {
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
	livetest.WaitFor(t, 20*time.Second, "a3 delivered", func() bool { return len(sink.delivered()) == 3 })
	livetest.WaitFor(t, 20*time.Second, "all six alerts committed", func() bool { return offsets() == 6 })
}
