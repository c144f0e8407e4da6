package notify_test

import (
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
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStageMuteAppliesAsItDelivers: an alert waiting in its destination's queue when a
// mute covering it comes is not delivered (docs/notifications.md: the stage "checks
// mutes as it delivers"); it shows as muted.
func TestStageMuteAppliesAsItDelivers(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	release := make(chan struct{})
	hold := newSink(t, holdUntil(release))
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hold", Type: rule.DestWebhook, URL: hold.srv.URL + "/hook"}))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-mute-test", Concurrency: 1,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	produce := func(id string) {
		v, _ := json.Marshal(alertFor(id, "c-1", []string{"hold"}))
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	produce("a0")
	poll.Until(t, 10*time.Second, "a0 held at the receiver", func() bool { return hold.requests() == 1 })
	produce("a1") // waits in the queue behind a0
	poll.Until(t, 10*time.Second, "a1 read", func() bool { return len(st.Recent()) == 2 })

	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "test"}))...)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	close(release)
	state := func(id string) string {
		for _, d := range st.Recent() {
			if d.Alert.AlertID == id {
				return d.Destinations[0].State
			}
		}
		return ""
	}
	poll.Until(t, 10*time.Second, "a1 settled", func() bool { return state("a1") == contract.DeliveryMuted })
	poll.Until(t, 10*time.Second, "a0 delivered", func() bool { return state("a0") == contract.DeliveryDelivered })
	poll.Until(t, 10*time.Second, "both offsets committed", func() bool {
		return b.GroupCommitted(t, "notify-mute-test", "alerts") == 2
	})
	if got := hold.delivered(); !slices.Equal(got, []string{"a0:firing"}) {
		t.Errorf("delivered %v, want a0 alone: a1 was muted while it waited", got)
	}
}

// TestStageResolveAfterItsFiring: the receiver acts as PagerDuty's Events API does (a
// trigger opens its dedup_key's incident, a resolve closes it if open and is dropped
// otherwise) and answers the first trigger 503. The resolve, read right after, must not
// overtake the retried trigger on another worker, or the incident opens after its
// resolve and stays open.
func TestStageResolveAfterItsFiring(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	pd := newPagerDuty(t, "")
	b.Produce(t, controlRecords(t, pd.destination("*"))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-resolve-test",
		Sender: notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, InitialBackoff: 300 * time.Millisecond,
			MaxBackoff: time.Second, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Getenv: pdKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	firing := alertFor("inc1", "c-1", []string{"pager"})
	resolved := firing
	resolved.Status = contract.StatusResolved
	fv, _ := json.Marshal(firing)
	rv, _ := json.Marshal(resolved)
	b.Produce(t,
		&kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv},
		&kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	runStage(t, st)
	poll.Until(t, 10*time.Second, "the trigger and the resolve accepted", func() bool { return len(pd.seen()) == 3 })
	if got, want := pd.seen(), []string{"inc1 trigger 503", "inc1 trigger", "inc1 resolve"}; !slices.Equal(got, want) || len(pd.opened()) > 0 {
		t.Errorf("incidents open %v; the receiver saw %q, want %q", pd.opened(), got, want)
	}
}

// reapingStage runs a stage of group on b whose metrics go to the returned registry,
// that tries each delivery once and reaps deleted destinations' queues (at each commit)
// every 50 ms.
func reapingStage(t *testing.T, b *kafkatest.Broker, group string) (*notify.Stage, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	st := oneAttemptStage(t, b, group, reg)
	runStage(t, st)
	return st, reg
}

// TestStageStopsDeletedDestinationsWorkers: a deleted destination's queue, workers and
// metric series go once its queue is empty, rather than live as long as the stage while
// destinations come and go; one defined again gets new ones.
func TestStageStopsDeletedDestinationsWorkers(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, ok200)
	ops := rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"})
	b.Produce(t, controlRecords(t, ops)...)
	st, reg := reapingStage(t, b, "notify-reap-test")
	queues := func() float64 { return promtest.Sum(t, reg, "hindsight_notify_destination_queues") }
	deliver := func(id string) {
		t.Helper()
		v, _ := json.Marshal(alertFor(id, "c-1", []string{"ops"}))
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
		poll.Until(t, 10*time.Second, id+" delivered", func() bool { return slices.Contains(hook.delivered(), id+":firing") })
	}
	deliver("a0")
	if n := queues(); n != 1 {
		t.Fatalf("%v destination queues after a delivery, want 1", n)
	}
	// Counted once the sender has the receiver's answer, a moment after the receiver
	// saw the request.
	poll.Until(t, 10*time.Second, "the delivery to ops counted", func() bool {
		return promtest.Value(t, reg, "hindsight_notify_deliveries_total", "destination", "ops") == 1
	})
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindDestination, rule.Key{Scope: "*", ID: "ops"}))...)
	poll.Until(t, 10*time.Second, "the deleted destination's queue stopped", func() bool { return queues() == 0 })
	// Its series go with it (at the reap after the one that stopped its queue, if it
	// was labelled since the one before): names made and deleted would grow /metrics
	// without end.
	poll.Until(t, 10*time.Second, "the deleted destination's series gone", func() bool {
		for _, name := range []string{"hindsight_notify_deliveries_total", "hindsight_notify_attempts_total", "hindsight_notify_queued"} {
			if promtest.Value(t, reg, name, "destination", "ops") != -1 {
				return false
			}
		}
		return true
	})
	b.Produce(t, controlRecords(t, ops)...)
	poll.Until(t, 10*time.Second, "the destination defined again", func() bool {
		_, ok := st.Registry().Destination("c-1", "ops")
		return ok
	})
	deliver("a1")
	if n := queues(); n != 1 {
		t.Errorf("%v destination queues once it is defined again, want 1", n)
	}
}

// TestStageMuteStopsARetry: the receiver answers the first attempt 503 with
// Retry-After: 2. While the delivery waits for its retry, a mute covering the alert is
// put in force. architecture.md ("Package notify"): "Muted alerts (the record's muted,
// or a mute in force when read or when delivered) are not delivered." The retry must
// not deliver the alert while the mute is in force.
func TestStageMuteStopsARetry(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n == 0 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			return false
		}
		return true
	})
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-mute-retry",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, MaxElapsed: 30 * time.Second, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	v, _ := json.Marshal(alertFor("a0", "c-1", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 10*time.Second, "the first attempt answered 503", func() bool { return hook.requests() == 1 })

	// The operator mutes customer c-1 while the alert waits for its retry.
	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "test"}))...)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	if hook.requests() != 1 {
		t.Fatalf("the retry came before the mute was folded; the test's timing is off")
	}

	state := settled(t, st, "a0")
	if got := hook.delivered(); len(got) != 0 {
		t.Errorf("delivered %v while mute c-1/maint was in force (state %q, %d requests)", got, state(), hook.requests())
	}
}

// TestStageRetriesGoWhereTheDestinationIsNow: the destination's old endpoint answers 503
// with Retry-After: 2. While the delivery waits for its retry, the destination is
// updated to a new URL (subtest "updated") or deleted (subtest "deleted"). The stage
// delivers by "the destination as it is now" (stage.go, deliver) and a deleted one's
// deliveries are given up: the retry must not go to the old URL.
func TestStageRetriesGoWhereTheDestinationIsNow(t *testing.T) {
	if testing.Short() && !underRace {
		t.Skip("waits out a rebalance (4 s): make test runs it")
	}
	t.Parallel() // own broker and receivers; most of its time is waiting for a rebalance or a retry
	for _, tc := range []string{"updated", "deleted"} {
		t.Run(tc, func(t *testing.T) {
			b := startBroker(t)
			old := newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n == 0 {
					w.Header().Set("Retry-After", "2")
					w.WriteHeader(http.StatusServiceUnavailable)
					return false
				}
				return true
			})
			fresh := newSink(t, ok200)
			dest := func(url string) *rule.Control {
				return rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: url})
			}
			b.Produce(t, controlRecords(t, dest(old.srv.URL+"/hook"))...)
			st, err := notify.New(notify.Config{
				Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-dest-retry-" + tc,
				Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, MaxElapsed: 30 * time.Second, AllowPrivate: true},
				CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			runStage(t, st)
			v, _ := json.Marshal(alertFor("a0", "c-1", []string{"ops"}))
			b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
			poll.Until(t, 10*time.Second, "the first attempt answered 503", func() bool { return old.requests() == 1 })

			if tc == "updated" {
				b.Produce(t, controlRecords(t, dest(fresh.srv.URL+"/hook"))...)
				poll.Until(t, 10*time.Second, "the update folded", func() bool {
					d, ok := st.Registry().Destination("c-1", "ops")
					return ok && d.URL == fresh.srv.URL+"/hook"
				})
			} else {
				b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindDestination, rule.Key{Scope: "*", ID: "ops"}))...)
				poll.Until(t, 10*time.Second, "the delete folded", func() bool {
					_, ok := st.Registry().Destination("c-1", "ops")
					return !ok
				})
			}
			if old.requests() != 1 {
				t.Fatalf("the retry came before the control was folded; the test's timing is off")
			}
			state := settled(t, st, "a0")
			if n := old.requests(); n != 1 {
				t.Errorf("%s destination: the old URL got %d requests (delivered there: %v), the new URL %v; state %q",
					tc, n, old.delivered(), fresh.delivered(), state())
			}
			want, wantState := "[a0:firing]", contract.DeliveryDelivered // the retry goes to the new URL
			if tc == "deleted" {
				want, wantState = "[]", contract.DeliveryUndelivered
			}
			if got := fmt.Sprint(fresh.delivered()); got != want || state() != wantState {
				t.Errorf("%s destination: the new URL got %s, state %q; want %s, %q", tc, got, state(), want, wantState)
			}
		})
	}
}

// settled waits until the delivery of alert id to its first destination is over
// (delivered, muted or undelivered) and returns how to read its state.
func settled(t *testing.T, st *notify.Stage, id string) func() string {
	t.Helper()
	state := func() string {
		for _, d := range st.Recent() {
			if d.Alert.AlertID == id {
				return d.Destinations[0].State
			}
		}
		return ""
	}
	poll.Until(t, 10*time.Second, id+" settled", func() bool {
		s := state()
		return s == contract.DeliveryDelivered || s == contract.DeliveryMuted || s == contract.DeliveryUndelivered
	})
	return state
}

// TestStageResolveAfterItsFiringAcrossDestinations: a firing queued to the global
// "pager" gets a 503; while it waits for its retry, customer c-1 gets its own "pager",
// which the retry goes to (the destination as it is now), and the resolve is queued
// there. It still waits for its firing: one alert's deliveries to one destination name
// are chained whatever queue serves them. The receiver saw "trigger 503", "resolve",
// "trigger", and the incident stayed open.
func TestStageResolveAfterItsFiringAcrossDestinations(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	pd := newPagerDuty(t, "2")
	b.Produce(t, controlRecords(t, pd.destination("*"))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-order-across",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, MaxElapsed: 30 * time.Second, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Getenv: pdKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	firing := alertFor("inc1", "c-1", []string{"pager"})
	resolved := firing
	resolved.Status = contract.StatusResolved
	fv, _ := json.Marshal(firing)
	rv, _ := json.Marshal(resolved)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	poll.Until(t, 10*time.Second, "the first trigger answered 503", func() bool { return pd.triggered("inc1") == 1 })
	b.Produce(t, controlRecords(t, pd.destination("c-1"))...)
	poll.Until(t, 10*time.Second, "c-1's own pager folded", func() bool {
		d, ok := st.Registry().Destination("c-1", "pager")
		return ok && d.Scope == "c-1"
	})
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 15*time.Second, "the trigger and the resolve accepted", func() bool { return len(pd.seen()) == 3 })
	if got, want := pd.seen(), []string{"inc1 trigger 503", "inc1 trigger", "inc1 resolve"}; !slices.Equal(got, want) || len(pd.opened()) > 0 {
		t.Errorf("the receiver saw %q, want %q; incidents open %v", got, want, pd.opened())
	}
}

// TestStageUndeliveredNamesTheDestinationItGaveUpOn: alert a0 of customer c-1 goes to
// the global "ops" (a webhook), whose first answer is 503 with Retry-After: 2. While it
// waits, c-1 gets its own "ops", a Slack webhook, which the retry goes to (the
// destination as it is now) and which refuses it (404, final). The undelivered record
// and the console's state name the destination given up on (scope c-1, type slack);
// they named the one resolved when the alert came.
func TestStageUndeliveredNamesTheDestinationItGaveUpOn(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	old := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusServiceUnavailable)
		return false
	})
	gone := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool { return fail(true, w, http.StatusNotFound) })
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: old.srv.URL + "/hook"}))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-undelivered-names",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, MaxElapsed: 30 * time.Second, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	v, _ := json.Marshal(alertFor("a0", "c-1", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 10*time.Second, "the first attempt answered 503", func() bool { return old.requests() == 1 })
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "c-1", Name: "ops", Type: rule.DestSlack, URL: gone.srv.URL + "/services/T0/B0/x"}))...)
	poll.Until(t, 10*time.Second, "c-1's own ops folded", func() bool {
		d, ok := st.Registry().Destination("c-1", "ops")
		return ok && d.Scope == "c-1"
	})
	recs := b.Consume(t, "alerts.undelivered", 1, 15*time.Second)
	if len(recs) != 1 {
		t.Fatalf("%d undelivered records, want 1", len(recs))
	}
	var u contract.Undelivered
	if err := json.Unmarshal(recs[0].Value, &u); err != nil {
		t.Fatal(err)
	}
	if gone.requests() != 1 || old.requests() != 1 {
		t.Fatalf("requests: old %d, c-1's %d; want 1 each", old.requests(), gone.requests())
	}
	if u.Scope != "c-1" || u.Type != rule.DestSlack || u.Status != http.StatusNotFound {
		t.Errorf("undelivered record names scope %q type %q (status %d, reason %q); the delivery given up on went to c-1's slack destination",
			u.Scope, u.Type, u.Status, u.Reason)
	}
	settled(t, st, "a0")
	for _, d := range st.Recent() {
		if ds := d.Destinations[0]; d.Alert.AlertID == "a0" && (ds.Scope != "c-1" || ds.Type != rule.DestSlack) {
			t.Errorf("Recent: a0's delivery is shown as to scope %q type %q (state %s), want c-1's slack", ds.Scope, ds.Type, ds.State)
		}
	}
}

// TestStageRetryingNamesTheDestinationTried: as in
// TestStageUndeliveredNamesTheDestinationItGaveUpOn, a0's retry goes to c-1's own
// "ops" (Slack) added while it waited; that destination answers 503 too, so the
// delivery is "retrying" after its second attempt. The console's state names the
// destination of that attempt; it named the first's (scope *, webhook).
func TestStageRetryingNamesTheDestinationTried(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	old := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusServiceUnavailable)
		return false
	})
	busy := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
		return false
	})
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: old.srv.URL + "/hook"}))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-retrying-names",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 5, MaxElapsed: 2 * time.Minute, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	v, _ := json.Marshal(alertFor("a0", "c-1", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 10*time.Second, "the first attempt answered 503", func() bool { return old.requests() == 1 })
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "c-1", Name: "ops", Type: rule.DestSlack, URL: busy.srv.URL + "/services/T0/B0/x"}))...)
	poll.Until(t, 10*time.Second, "the retry sent to c-1's own ops", func() bool { return busy.requests() == 1 })
	var ds contract.DestinationState
	poll.Until(t, 10*time.Second, "the second attempt recorded as retrying", func() bool {
		for _, d := range st.Recent() {
			if d.Alert.AlertID == "a0" {
				ds = d.Destinations[0]
			}
		}
		return ds.State == contract.DeliveryRetrying && ds.Attempts == 2
	})
	if ds.Scope != "c-1" || ds.Type != rule.DestSlack {
		t.Errorf("Recent: a0 retrying after its attempt to c-1's slack is shown as to scope %q type %q (attempts %d, reason %q)",
			ds.Scope, ds.Type, ds.Attempts, ds.Reason)
	}
}
