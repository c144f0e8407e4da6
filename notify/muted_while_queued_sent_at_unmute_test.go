package notify_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestFiringMutedWhileQueuedIsSentWhenItsMuteEnds: a firing read with no mute in
// force waits in its destination's queue (the one worker holds another customer's
// alert at the receiver); a mute covering it comes meanwhile, so its attempt is muted.
// It is then a muted firing like one read under the mute (open.go, mutedNow): once the
// mute is deleted it is sent. The mutation hunt dropped the note that the firing was
// muted as it was to be sent, so it was never sent, and no test failed.
func TestFiringMutedWhileQueuedIsSentWhenItsMuteEnds(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	release := make(chan struct{})
	hook := newSink(t, func(_ int, _ http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get(notify.HeaderIdempotencyKey) == "h0:firing" {
			select {
			case <-release:
			case <-r.Context().Done():
				return false
			}
		}
		return true
	})
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-muted-while-queued", Concurrency: 1,
		Sender:         notify.SenderConfig{Timeout: time.Minute, MaxAttempts: 1, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runStage(t, st)
	var recs []*kgo.Record
	for _, a := range []contract.Alert{alertFor("h0", "c-2", []string{"ops"}), alertFor("a1", "c-1", []string{"ops"})} {
		v, _ := json.Marshal(a)
		recs = append(recs, &kgo.Record{Topic: "alerts", Key: []byte(a.Customer), Value: v})
	}
	b.Produce(t, recs...)
	poll.Until(t, 10*time.Second, "h0 held at the receiver, a1 read", func() bool {
		return hook.requests() == 1 && slices.ContainsFunc(st.Recent(), func(d contract.AlertDelivery) bool { return d.Alert.AlertID == "a1" })
	})
	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "quiet", Rule: "*", Reason: "maintenance", By: "test"}))...)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	close(release)
	a1State := func() string {
		for _, d := range st.Recent() {
			if d.Alert.AlertID == "a1" && len(d.Destinations) == 1 {
				return d.Destinations[0].State
			}
		}
		return ""
	}
	poll.Until(t, 10*time.Second, "a1 muted at its attempt", func() bool { return a1State() == contract.DeliveryMuted })
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "quiet"}))...)
	if !poll.Within(15*time.Second, func() bool { return slices.Contains(hook.delivered(), "a1:firing") }) {
		t.Errorf("a1, muted at its attempt by a mute that came while it was queued, was not sent once the mute was deleted: the receiver has %v, a1 is %q", hook.delivered(), a1State())
	}
}
