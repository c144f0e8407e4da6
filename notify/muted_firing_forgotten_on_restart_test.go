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

// TestMutedFiringForgottenOnRestart: a firing read under a mute is sent when the mute
// ends while the incident is still open (docs/notifications.md, open.go). The notify
// stage is restarted (a deploy) after it handled the muted firing and before the mute
// ends. Its record was committed as handled and the memory of muted firings is in
// memory, so the restarted stage had forgotten it: it never sent the firing once the
// mute was deleted, then sent the incident's resolve, unmuted, to a receiver never
// paged. It reads the partition's alerts before its committed offset again
// (reread.go), so the same events give the same answer whether notify restarted or
// not.
func TestMutedFiringForgottenOnRestart(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
		rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))...)
	cfg := notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-muted-restart",
		Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
	}
	st, stop := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	firing := alertFor("f1", "c-1", []string{"ops"})
	firing.Muted = true
	fv, _ := json.Marshal(firing)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
	poll.Until(t, 10*time.Second, "the muted firing handled", func() bool { return b.GroupCommitted(t, "notify-muted-restart", "alerts") == 1 })
	stop() // a deploy, the mute still in force, the incident still open

	st2, _ := startMember(t, cfg)
	poll.Until(t, 10*time.Second, "the mute folded by the restarted stage", func() bool { return st2.Registry().Muted("r", "c-1", time.Now()) != nil })
	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "maint"}))...)
	poll.Until(t, 10*time.Second, "the mute's delete folded", func() bool { return st2.Registry().Muted("r", "c-1", time.Now()) == nil })
	// The mute is over with the incident still open: the firing is owed, and sent at the
	// stage's next check for ended mutes (each second); its receiver takes every request.
	poll.Until(t, 15*time.Second, "the firing f1, muted and still open when its mute was deleted after a restart of notify, delivered", func() bool {
		return slices.Contains(hook.delivered(), "f1:firing")
	})

	resolved := firing
	resolved.Status, resolved.Muted = contract.StatusResolved, false
	rv, _ := json.Marshal(resolved)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv})
	poll.Until(t, 10*time.Second, "the resolve handled", func() bool { return b.GroupCommitted(t, "notify-muted-restart", "alerts") == 2 })

	got := hook.delivered()
	sentFiring := slices.Contains(got, "f1:firing")
	sentResolve := slices.Contains(got, "f1:resolved")
	if !sentFiring && b.TopicRecords(t, "alerts.undelivered") == 0 {
		t.Errorf("the firing f1, muted and still open when its mute was deleted after a restart of notify, was never sent nor recorded undelivered (receiver: %v)", got)
	}
	if sentResolve && !sentFiring {
		t.Errorf("the resolve of f1 was sent to a receiver never paged for it (receiver: %v)", got)
	}
}
