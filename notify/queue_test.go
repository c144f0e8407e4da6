package notify_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStageQueueFull holds a destination's one delivery at its receiver: the next
// QueueSize alerts wait in its queue, and the rest are recorded undelivered at once,
// naming the limit, each counted as the limit reached; once the receiver answers, the
// held and queued ones are delivered.
func TestStageQueueFull(t *testing.T) {
	b := startBroker(t)
	release := make(chan struct{})
	hold := newSink(t, holdUntil(release))
	livetest.ProduceSync(t, b, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hold", Type: rule.DestWebhook, URL: hold.srv.URL + "/hook"}))...)

	const queueSize = 2
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-queue-test",
		QueueSize: queueSize, Concurrency: 1,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Registerer: reg, Logger: livetest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	produce := func(ids ...string) {
		t.Helper()
		var recs []*kgo.Record
		for _, id := range ids {
			v, _ := json.Marshal(alertFor(id, "c-1", []string{"hold"}))
			recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
		}
		livetest.ProduceSync(t, b, recs...)
	}
	produce("a0")
	livetest.WaitFor(t, 10*time.Second, "the first delivery held at the receiver", func() bool { return hold.requests() == 1 })
	const over = 3
	var ids []string
	for i := range queueSize + over {
		ids = append(ids, fmt.Sprintf("a%d", i+1))
	}
	produce(ids...)

	undelivered := b.Consume(t, "alerts.undelivered", over, 30*time.Second)
	wantReason := fmt.Sprintf("destination queue full (%d deliveries waiting; limit notify_queue_size, flag --notify-queue-size)", queueSize)
	for _, r := range undelivered {
		var u contract.Undelivered
		if err := json.Unmarshal(r.Value, &u); err != nil {
			t.Fatal(err)
		}
		if u.Destination != "hold" || u.Reason != wantReason {
			t.Errorf("undelivered %s to %s: %q, want %q", u.Alert.AlertID, u.Destination, u.Reason, wantReason)
		}
	}
	if len(undelivered) != over {
		t.Errorf("%d recorded undelivered, want %d", len(undelivered), over)
	}
	for _, m := range []struct {
		metric, label, value string
		want                 float64
	}{
		{"hindsight_notify_queue_full_total", "destination", "hold", over},
		{"hindsight_limit_reached_total", "name", notify.LimitQueueSize, over},
		{"hindsight_limit", "name", notify.LimitQueueSize, queueSize},
		{"hindsight_limit", "name", notify.LimitConcurrency, 1},
		{"hindsight_limit", "name", notify.LimitMaxAttempts, 1},
		{"hindsight_limit", "name", notify.LimitTimeout, 60},
		{"hindsight_limit", "name", notify.LimitRetryBudget, notify.DefaultMaxElapsed.Seconds()},
	} {
		if got := promtest.Value(t, reg, m.metric, m.label, m.value); got != m.want {
			t.Errorf("%s{%s=%q} = %v, want %v", m.metric, m.label, m.value, got, m.want)
		}
	}

	close(release)
	livetest.WaitFor(t, 10*time.Second, "the held and queued deliveries", func() bool { return len(hold.delivered()) == 1+queueSize })
}
