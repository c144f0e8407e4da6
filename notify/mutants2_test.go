package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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

// TestFiringReadAgainMutedWhileItsDeliveryIsUnderWayIsNotOwed: a firing's delivery is
// on the wire (held at the receiver) when its record is read again, muted this time (a
// mute came meanwhile). The firing is not remembered as muted: its delivery is under
// way, and what that delivery ends in (here a final 400: recorded undelivered) is its
// outcome. The mutation hunt (open.go, remember, without "od.jobs == 0") marked it
// muted while its delivery ran: given up, it stayed muted, and the mute's end sent it
// again, a page after its undelivered record, and no test failed. b1, read under the
// mute, is the firing the mute's end does send, in the same check.
func TestFiringReadAgainMutedWhileItsDeliveryIsUnderWayIsNotOwed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes (about 4 s): make test runs it")
	}
	t.Parallel()
	b := startBroker(t)
	release := make(chan struct{})
	hook := newSink(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get(notify.HeaderIdempotencyKey) == "a0:firing" && n == 0 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusBadRequest)
			return false
		}
		return true
	})
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-read-again-muted-under-way", Concurrency: 1,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	produce := func(as ...contract.Alert) {
		var recs []*kgo.Record
		for _, a := range as {
			v, _ := json.Marshal(a)
			recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: v})
		}
		b.Produce(t, recs...)
	}
	produce(alertFor("a0", "c-1", []string{"ops"}))
	poll.Until(t, 10*time.Second, "a0 held at the receiver", func() bool { return hook.requests() == 1 })
	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "quiet", Rule: "*", Reason: "maintenance", By: "test"}))...)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	again := alertFor("a0", "c-1", []string{"ops"})
	again.Muted = true
	b1 := alertFor("b1", "c-1", []string{"ops"})
	b1.Muted = true
	produce(again, b1)
	poll.Until(t, 10*time.Second, "a0's second record and b1 muted at read", func() bool {
		return promtest.Value(t, reg, "hindsight_notify_deliveries_total", "outcome", contract.DeliveryMuted) == 2
	})
	close(release)
	poll.Until(t, 10*time.Second, "a0's delivery given up", func() bool {
		return promtest.Value(t, reg, "hindsight_notify_deliveries_total", "outcome", contract.DeliveryUndelivered) == 1
	})
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "quiet"}))...)
	poll.Until(t, 15*time.Second, "b1 sent at its mute's end", func() bool { return slices.Contains(hook.delivered(), "b1:firing") })
	// The check that sent b1 queued every firing owed, on the one worker: two checks
	// later, and the queue empty, one queued behind b1 has been asked for.
	checks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "two more checks for ended mutes, the queue empty", func() bool {
		return st.UnmuteChecks() >= checks+2 && promtest.Sum(t, reg, "hindsight_notify_queued") == 0
	})
	hook.mu.Lock()
	a0 := hook.keys["a0:firing"]
	hook.mu.Unlock()
	if a0 != 1 {
		t.Errorf("a0:firing was requested %d times, want 1: read again muted while its delivery was on the wire, it was remembered as muted, and after that delivery was given up the mute's end sent it again", a0)
	}
}

// TestOwedFiringSentLeavesItsQueueGaugeAtZero: a firing read under a mute is sent when
// the mute is deleted, through its destination's queue; once it is delivered
// hindsight_notify_queued shows that queue empty, 0. The mutation hunt dropped the
// gauge's increment where an owed firing is queued (open.go, sendOwedLocked): the
// worker's decrement took it to -1, and no test failed.
func TestOwedFiringSentLeavesItsQueueGaugeAtZero(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, ok200)
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "quiet", Rule: "*", Reason: "maintenance", By: "test"}))...)
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-owed-queue-gauge",
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	a := alertFor("a0", "c-1", []string{"ops"})
	a.Muted = true
	v, _ := json.Marshal(a)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 10*time.Second, "a0 muted at read", func() bool {
		return promtest.Value(t, reg, "hindsight_notify_deliveries_total", "outcome", contract.DeliveryMuted) == 1
	})
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "quiet"}))...)
	poll.Until(t, 15*time.Second, "a0 sent at its mute's end and counted delivered", func() bool {
		return promtest.Value(t, reg, "hindsight_notify_deliveries_total", "outcome", contract.DeliveryDelivered) == 1
	})
	if got := promtest.Value(t, reg, "hindsight_notify_queued", "destination", "ops"); got != 0 {
		t.Errorf("hindsight_notify_queued{destination=\"ops\"} = %v once the owed firing was delivered, want 0", got)
	}
}

// TestRejectedControlsDroppedAreCountedAsTheLimitReached: the stage folds the controls
// itself, keeping the newest max_rejected_controls (100) rejected ones; the three
// dropped past it are counted in hindsight_limit_reached_total, as live counts its
// own fold's. The mutation hunt dropped that count (folddrops.go), and no test failed.
func TestRejectedControlsDroppedAreCountedAsTheLimitReached(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-rejected-dropped",
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	limit := rule.CurrentLimits().MaxRejectedControls
	var recs []*kgo.Record
	for i := range limit + 3 {
		recs = append(recs, &kgo.Record{Topic: "controls", Key: []byte(fmt.Sprintf("destination/*/bad%d", i)), Value: []byte("not json")})
	}
	b.Produce(t, recs...)
	runStage(t, st)
	poll.Until(t, 10*time.Second, "the fold to drop 3 rejected controls", func() bool { return st.Registry().RejectedDropped() == 3 })
	poll.Within(10*time.Second, func() bool {
		return promtest.Value(t, reg, "hindsight_limit_reached_total", "name", rule.LimitRejected) == 3
	})
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", rule.LimitRejected); got != 3 {
		t.Errorf("hindsight_limit_reached_total{name=%q} = %v after the fold dropped 3 rejected controls past %d, want 3", rule.LimitRejected, got, limit)
	}
}

// TestEndedMutesForgottenAreCountedAsTheLimitReached: with max_ended_mutes 1, three
// mutes made and deleted leave the stage's fold forgetting the earliest ended; each
// forgotten is counted in hindsight_limit_reached_total{name="max_ended_mutes"}. The
// mutation hunt dropped that count (folddrops.go), and no test failed. It changes the
// process-wide rule limits, so it does not run in parallel.
func TestEndedMutesForgottenAreCountedAsTheLimitReached(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.CurrentLimits()
	l.MaxEndedMutes = 1
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	b := startBroker(t)
	reg := prometheus.NewRegistry()
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-ended-mutes-dropped",
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	var cs []*rule.Control
	for i := range 3 {
		cs = append(cs, rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: fmt.Sprintf("m%d", i), Rule: "*", Reason: "maintenance", By: "test"}))
	}
	for i := range 3 {
		cs = append(cs, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: fmt.Sprintf("m%d", i)}))
	}
	b.Produce(t, controlRecords(t, cs...)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	defer func() { cancel(); <-done }()
	poll.Until(t, 10*time.Second, "the fold to forget ended mutes", func() bool { return st.Registry().EndedMutesDropped() >= 1 })
	want := float64(st.Registry().EndedMutesDropped())
	poll.Within(10*time.Second, func() bool {
		return promtest.Value(t, reg, "hindsight_limit_reached_total", "name", rule.LimitEndedMutes) == want
	})
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", rule.LimitEndedMutes); got != want {
		t.Errorf("hindsight_limit_reached_total{name=%q} = %v after the fold forgot %v ended mutes past max_ended_mutes 1, want %v", rule.LimitEndedMutes, got, want, want)
	}
}

// TestDeletedDestinationsQueuedDeliveriesAreStillHandled: a destination is deleted
// while eight deliveries wait in its queue behind one held at the receiver. Its queue
// goes once it is empty: every alert queued is still handled (delivered, or recorded
// undelivered), and the partition committed past them all. The mutation hunt stopped
// the queue of a deleted destination with jobs still in it (stage.go, "len(q.ch) ==
// 0" dropped): its worker left them, their alerts stayed pending and the commit stuck,
// and no test failed.
func TestDeletedDestinationsQueuedDeliveriesAreStillHandled(t *testing.T) {
	t.Parallel()
	const n = 9
	b := startBroker(t)
	release := make(chan struct{})
	hook := newSink(t, func(_ int, _ http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get(notify.HeaderIdempotencyKey) == "a0:firing" {
			select {
			case <-release:
			case <-r.Context().Done():
				return false
			}
		}
		return true
	})
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	reg := prometheus.NewRegistry()
	const group = "notify-deleted-destination-queue"
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group, Concurrency: 1, QueueSize: 100,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	var recs []*kgo.Record
	for i := range n {
		v, _ := json.Marshal(alertFor(fmt.Sprintf("a%d", i), "c-1", []string{"ops"}))
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	b.Produce(t, recs...)
	poll.Until(t, 10*time.Second, "a0 held at the receiver, the rest queued", func() bool {
		return hook.requests() == 1 && promtest.Value(t, reg, "hindsight_notify_queued", "destination", "ops") == n-1
	})
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindDestination, rule.Key{Scope: "*", ID: "ops"}))...)
	poll.Until(t, 10*time.Second, "the destination's delete folded", func() bool {
		_, ok := st.Registry().Destination("c-1", "ops")
		return !ok
	})
	// Queues are reaped on the commit ticker (50 ms): a0 is held while a check for ended
	// mutes comes round (a second, twenty ticks), so that reaping has looked at the queue
	// of the deleted destination while its deliveries wait in it.
	checks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "a check for ended mutes", func() bool { return st.UnmuteChecks() > checks })
	close(release)
	poll.Within(15*time.Second, func() bool { return b.GroupCommitted(t, group, "alerts") == n })
	// Counted from the console's states, not from hindsight_notify_deliveries_total: the
	// commit tick that commits the last of them reaps the deleted destination's empty
	// queue and forgets its series, and a read after it found none ('0 deliveries
	// ended (delivered -1, undelivered -1), committed 9', in a go test -race -short run).
	states := map[string]int{}
	for _, d := range st.Recent() {
		for _, ds := range d.Destinations {
			states[ds.State]++
		}
	}
	handled := states[contract.DeliveryDelivered] + states[contract.DeliveryUndelivered]
	if committed := b.GroupCommitted(t, group, "alerts"); committed != n || handled != n {
		t.Errorf("after the destination was deleted with %d deliveries queued: %d deliveries ended (states %v), committed %d; want %d handled and committed",
			n-1, handled, states, committed, n)
	}
}
