package notify_test

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// unmutedResendRig starts a stage whose destination ops answers by respond, folds a
// mute over c-1, reads the firing f1 under it (its record says muted) and deletes the
// mute, so that the stage sends f1 as a re-send (unsent.go).
func unmutedResendRig(t *testing.T, group string, respond func(r *http.Request) bool) (*notify.Stage, *kafkatest.Broker, *sink, func()) {
	t.Helper()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, r *http.Request) bool { return respond(r) })
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	st, stop := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	firing := alertFor("f1", "c-1", []string{"ops"})
	firing.Muted = true
	fv, _ := json.Marshal(firing)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	poll.Until(t, 10*time.Second, "the muted firing handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 1 })
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "maint"}))...)
	return st, b, hook, stop
}

// TestUnmutedResendDeliveredIsNotRecordedAtStop: a muted firing sent as its mute ended
// and delivered is over; the stop that follows records nothing of it on the
// undelivered topic. Keeping delivered re-sends held (unsentOver's guard turned
// round) recorded each as "stopped before it was sent" at the next stop, and no test
// noticed.
func TestUnmutedResendDeliveredIsNotRecordedAtStop(t *testing.T) {
	t.Parallel()
	st, b, hook, stop := unmutedResendRig(t, "notify-resend-delivered-stop", func(*http.Request) bool { return true })
	// Delivered as the stage sees it, not as the receiver does: a stop between the two
	// cuts the re-send short, which the stop then rightly records.
	poll.Until(t, 10*time.Second, "f1 delivered as its mute ended, as the stage sees it", func() bool {
		for _, d := range st.Recent() {
			if d.Alert.AlertID == "f1" && len(d.Destinations) == 1 && d.Destinations[0].State == contract.DeliveryDelivered {
				return true
			}
		}
		return false
	})
	stop()
	if n := b.TopicRecords(t, "alerts.undelivered"); n != 0 {
		t.Errorf("alerts.undelivered holds %d records after the stop, want 0: f1 was delivered (receiver: %v)", n, hook.delivered())
	}
}

// TestUnmutedResendCutShortAtStopRecordsItsAttempts: a re-send in flight when the stage
// stops is recorded undelivered by the stop, saying why and how many requests it
// made (one, held by the receiver). Dropping the attempts unsentStopped keeps recorded
// 0, and no test noticed.
func TestUnmutedResendCutShortAtStopRecordsItsAttempts(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	_, b, _, stop := unmutedResendRig(t, "notify-resend-cut-stop", func(r *http.Request) bool {
		requests.Add(1)
		<-r.Context().Done() // down: holds the request until its sender goes
		return false
	})
	poll.Until(t, 10*time.Second, "f1 sent as its mute ended, held by the receiver", func() bool { return requests.Load() == 1 })
	stop()
	recs := b.Consume(t, "alerts.undelivered", 1, 10*time.Second)
	if len(recs) != 1 {
		t.Fatalf("alerts.undelivered holds %d records after the stop, want 1", len(recs))
	}
	var u contract.Undelivered
	if err := json.Unmarshal(recs[0].Value, &u); err != nil {
		t.Fatal(err)
	}
	if u.Alert.AlertID != "f1" || u.Destination != "ops" || u.Attempts != 1 ||
		u.Reason != "stopped before it was sent (sent as its mute ended: its record was handled as muted, so no restart sends it)" {
		t.Errorf("undelivered record: alert %s, destination %s, attempts %d, reason %q; want f1, ops, 1 attempt, stopped before it was sent",
			u.Alert.AlertID, u.Destination, u.Attempts, u.Reason)
	}
}
