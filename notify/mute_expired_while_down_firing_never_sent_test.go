package notify_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMuteExpiredWhileDownFiringNeverSent: live raises a firing under a mute in force
// (its record says muted) while the notify stage is down (a deploy); the mute's until
// passes before the stage is back. The incident is still open and no mute covers it
// any more, so the firing is owed, as it would have been sent at the mute's end had
// the stage been up (TestFiringUnderMuteNotNotifiedWhenMuteEnds). The restarted stage's
// fold holds the mute, ended, which covered the alert when it was raised: the stage
// takes it as the mute that muted the firing and sends the firing. It used to read the
// firing as muted by its record only (never having seen the mute in force) and neither
// send it nor record it undelivered.
func TestMuteExpiredWhileDownFiringNeverSent(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a mute's end: make test runs it")
	}
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	until := time.Now().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops", Until: until}))...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-mute-expired-down",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	st, stop := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	stop() // notify down

	// live, meanwhile, raises the firing under the mute in force: its record says muted.
	firing := alertFor("f1", "c-1", []string{"ops"})
	firing.Muted = true
	fv, _ := json.Marshal(firing)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	for time.Now().Before(until.Add(200 * time.Millisecond)) {
		time.Sleep(100 * time.Millisecond) // the mute ends while notify is down
	}

	st2, _ := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the firing handled by the restarted stage", func() bool {
		return b.GroupCommitted(t, "notify-mute-expired-down", "alerts") == 1
	})
	if st2.Registry().Muted("r", "c-1", time.Now()) != nil {
		t.Fatal("the mute still in force after its until")
	}
	lv, _ := json.Marshal(alertFor("a2", "c-1", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: lv})
	poll.Until(t, 10*time.Second, "a later alert delivered by the restarted stage", func() bool {
		return slices.Contains(hook.delivered(), "a2:firing")
	})
	poll.Until(t, 10*time.Second, "the firing f1, muted by a mute that ended while notify was down and still open, delivered or on the undelivered topic", func() bool {
		return slices.Contains(hook.delivered(), "f1:firing") || b.TopicRecords(t, "alerts.undelivered") > 0
	})
}
