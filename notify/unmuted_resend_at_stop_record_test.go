package notify_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
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

// unmutedResendRig starts a stage whose destination ops answers by respond, folds a
// mute over c-1, reads the firing f1 under it (its record says muted) and deletes the
// mute, so that the stage sends f1 as a re-send (unsent.go).
func unmutedResendRig(t *testing.T, group string, respond func(r *http.Request) bool) (*notify.Stage, *kafkatest.Broker, *sink, func()) {
	t.Helper()
	return unmutedResendRigOf(t, group, alertFor("f1", "c-1", []string{"ops"}), nil, respond)
}

// unmutedResendRigOf is unmutedResendRig with the firing f1 given (its id f1, its
// customer c-1, naming ops) and the stage's metrics taken by reg, when set.
func unmutedResendRigOf(t *testing.T, group string, firing contract.Alert, reg prometheus.Registerer, respond func(r *http.Request) bool) (*notify.Stage, *kafkatest.Broker, *sink, func()) {
	t.Helper()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, r *http.Request) bool { return respond(r) })
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Registerer: reg,
	}
	st, stop := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
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

// TestUnmutedResendTooLargeAtStopIsCutAndWritten: the undelivered topic takes records
// of at most 2000 bytes (its max.message.bytes), and the stop records a re-send whose
// alert carries an 8000-byte context value. Refused as too large before any cutting,
// the record is cut (its alert's values left out) and written, the refusal counted as
// a failed write; it is not lost. Taking any such refusal for one at the record's
// smallest would log the re-send as lost and write nothing, and no test held it.
func TestUnmutedResendTooLargeAtStopIsCutAndWritten(t *testing.T) {
	t.Parallel()
	firing := alertFor("f1", "c-1", []string{"ops"})
	// Hex of a seeded generator: the broker measures the compressed batch, and a run
	// of one letter compresses to nothing.
	rng := rand.New(rand.NewPCG(1, 2))
	var hex strings.Builder
	for range 8000 / 16 {
		fmt.Fprintf(&hex, "%016x", rng.Uint64())
	}
	pad, _ := json.Marshal(hex.String())
	firing.Context = map[string]json.RawMessage{"$.pad": pad}
	reg := prometheus.NewRegistry()
	var requests atomic.Int64
	_, b, _, stop := unmutedResendRigOf(t, "notify-resend-too-large-stop", firing, reg, func(r *http.Request) bool {
		requests.Add(1)
		<-r.Context().Done() // down: holds the request until its sender goes
		return false
	})
	b.SetTopicConfig(t, "alerts.undelivered", "max.message.bytes", "2000")
	poll.Until(t, 10*time.Second, "f1 sent as its mute ended, held by the receiver", func() bool { return requests.Load() == 1 })
	stop()
	recs := b.Consume(t, "alerts.undelivered", 1, 10*time.Second)
	if len(recs) != 1 {
		t.Fatalf("alerts.undelivered holds %d records after the stop, want 1 (f1's, cut)", len(recs))
	}
	var u contract.Undelivered
	if err := json.Unmarshal(recs[0].Value, &u); err != nil {
		t.Fatal(err)
	}
	if u.Alert.AlertID != "f1" || !slices.Equal(u.Alert.ContextCut, []string{"$.pad"}) || string(u.Alert.Context["$.pad"]) != "null" || !strings.HasPrefix(u.Reason, "stopped before it was sent") {
		t.Errorf("undelivered record: alert %s, $.pad of %d bytes, context cut %v, reason %q; want f1, its context value cut (null), stopped before it was sent",
			u.Alert.AlertID, len(u.Alert.Context["$.pad"]), u.Alert.ContextCut, u.Reason)
	}
	if n := promtest.Sum(t, reg, "hindsight_notify_undelivered_lost_total"); n != 0 {
		t.Errorf("hindsight_notify_undelivered_lost_total %v; want 0: cut, f1's record was written", n)
	}
	if n := promtest.Sum(t, reg, "hindsight_notify_undelivered_write_errors_total"); n != 1 {
		t.Errorf("hindsight_notify_undelivered_write_errors_total %v; want 1 (the write refused before the cut)", n)
	}
}

// TestUnmutedResendRecordFailedAtStopIsCounted: the stop's first write of a re-send's
// undelivered record is refused (TOPIC_AUTHORIZATION_FAILED), the next lands. The
// failed write is counted in hindsight_notify_undelivered_write_errors_total, as a
// failed write of any other undelivered record is. Without the count it would only be
// logged, and no test held it.
func TestUnmutedResendRecordFailedAtStopIsCounted(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var requests atomic.Int64
	_, b, _, stop := unmutedResendRigOf(t, "notify-resend-failed-stop", alertFor("f1", "c-1", []string{"ops"}), reg, func(r *http.Request) bool {
		requests.Add(1)
		<-r.Context().Done() // down: holds the request until its sender goes
		return false
	})
	var produces atomic.Int64
	b.RefuseProduces(t, "alerts.undelivered", func() bool { return produces.Add(1) == 1 })
	poll.Until(t, 10*time.Second, "f1 sent as its mute ended, held by the receiver", func() bool { return requests.Load() == 1 })
	stop()
	recs := b.Consume(t, "alerts.undelivered", 1, 10*time.Second)
	if len(recs) != 1 {
		t.Fatalf("alerts.undelivered holds %d records after the stop, want 1 (f1's, written again)", len(recs))
	}
	if n := produces.Load(); n != 2 {
		t.Errorf("%d produces to alerts.undelivered, want 2 (refused, then landed)", n)
	}
	if n := promtest.Sum(t, reg, "hindsight_notify_undelivered_write_errors_total"); n != 1 {
		t.Errorf("hindsight_notify_undelivered_write_errors_total %v; want 1 (the refused write)", n)
	}
}
