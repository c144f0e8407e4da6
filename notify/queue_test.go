package notify_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStageQueueFull holds a destination's one delivery at its receiver: the next
// QueueSize alerts wait in its queue, and the rest are recorded undelivered at once,
// naming the limit, each counted as the limit reached; once the receiver answers, the
// held and queued ones are delivered.
func TestStageQueueFull(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	release := make(chan struct{})
	hold := newSink(t, holdUntil(release))
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hold", Type: rule.DestWebhook, URL: hold.srv.URL + "/hook"}))...)

	const queueSize = 2
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-queue-test",
		QueueSize: queueSize, Concurrency: 1,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Registerer: reg, Logger: testlog.New(t),
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
		b.Produce(t, recs...)
	}
	produce("a0")
	poll.Until(t, 10*time.Second, "the first delivery held at the receiver", func() bool { return hold.requests() == 1 })
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
	poll.Until(t, 10*time.Second, "the held and queued deliveries", func() bool { return len(hold.delivered()) == 1+queueSize })
}

// TestStageQueueFullKeepsTheChain: a0's firing is in flight (held at the receiver) when
// its resolve finds the queue full and is given up. A later record of a0 (a repeat of
// its firing) must still wait for the one in flight: the queue-full resolve once ended
// the chain, and the repeat went out beside it on the second worker.
func TestStageQueueFullKeepsTheChain(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	releaseA, releaseX := make(chan struct{}), make(chan struct{})
	hook := newSink(t, func(_ int, _ http.ResponseWriter, r *http.Request) bool {
		release := releaseX
		if strings.HasPrefix(r.Header.Get(notify.HeaderIdempotencyKey), "a0:") {
			release = releaseA
		}
		if strings.HasPrefix(r.Header.Get(notify.HeaderIdempotencyKey), "y:") {
			return true
		}
		select {
		case <-release:
			return true
		case <-r.Context().Done():
			return false
		}
	})
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hook", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-queue-chain",
		QueueSize: 1, Concurrency: 2,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	produce := func(id, status string) {
		t.Helper()
		a := alertFor(id, "c-1", []string{"hook"})
		a.Status = status
		v, _ := json.Marshal(a)
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	// One at a time: the queue holds one job, which a worker may not have taken yet.
	produce("a0", contract.StatusFiring)
	poll.Until(t, 10*time.Second, "a0 held by a worker", func() bool { return hook.requests() == 1 })
	produce("x", contract.StatusFiring)
	poll.Until(t, 10*time.Second, "x held by the other", func() bool { return hook.requests() == 2 })
	produce("y", contract.StatusFiring) // waits in the queue
	poll.Until(t, 10*time.Second, "y read", func() bool {
		for _, d := range st.Recent() {
			if d.Alert.AlertID == "y" {
				return true
			}
		}
		return false
	})
	produce("a0", contract.StatusResolved) // the queue is full: given up
	if n := len(b.Consume(t, "alerts.undelivered", 1, 10*time.Second)); n != 1 {
		t.Fatalf("%d undelivered records, want a0's resolve", n)
	}
	close(releaseX) // the second worker delivers x, then y
	poll.Until(t, 10*time.Second, "x and y delivered", func() bool { return len(hook.delivered()) == 2 })
	produce("a0", contract.StatusFiring) // a repeat: must wait for the one in flight
	settled(t, st, "y")
	// The repeat was read and queued behind a0's firing in flight; it has a worker free.
	poll.Until(t, 10*time.Second, "the repeat of a0 read", func() bool {
		n := 0
		for _, d := range st.Recent() {
			if d.Alert.AlertID == "a0" {
				n++
			}
		}
		return n == 3
	})
	time.Sleep(500 * time.Millisecond) // time for a repeat that does not wait to reach the receiver
	hook.mu.Lock()
	inFlight, sent := hook.inflight, hook.keys["a0:firing"]
	hook.mu.Unlock()
	if sent != 1 || inFlight != 1 {
		t.Errorf("a0's firing was sent %d times with %d requests in flight: the repeat did not wait for the one in flight", sent, inFlight)
	}
	close(releaseA)
	poll.Until(t, 10*time.Second, "a0's firing delivered twice", func() bool {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		return hook.keys["a0:firing"] == 2 && hook.inflight == 0
	})
}

// TestStageRecentBound: Recent keeps the delivery states of the newest Recent alerts,
// and each one dropped for a newer is counted as the limit reached.
func TestStageRecentBound(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	sink := newSink(t, ok200)
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ok", Type: rule.DestWebhook, URL: sink.srv.URL + "/hook"}))...)
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-recent-test", Recent: 2,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Registerer: reg, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	var recs []*kgo.Record
	for i := range 5 {
		v, _ := json.Marshal(alertFor(fmt.Sprintf("a%d", i), "c-1", []string{"ok"}))
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	b.Produce(t, recs...)
	poll.Until(t, 10*time.Second, "five deliveries", func() bool { return len(sink.delivered()) == 5 })
	var ids []string
	for _, d := range st.Recent() {
		ids = append(ids, d.Alert.AlertID)
	}
	if got := strings.Join(ids, " "); got != "a4 a3" {
		t.Errorf("Recent lists %q, want the newest two, a4 a3", got)
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitRecent); got != 3 {
		t.Errorf("drops counted %v, want 3", got)
	}
	if got := promtest.Value(t, reg, "hindsight_limit", "name", notify.LimitRecent); got != 2 {
		t.Errorf("limit shown as %v, want 2", got)
	}
	if _, err := notify.New(notify.Config{Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Recent: notify.MaxRecent + 1}); err == nil ||
		!strings.Contains(err.Error(), "above the maximum") {
		t.Errorf("Recent past MaxRecent: %v", err)
	}
}
