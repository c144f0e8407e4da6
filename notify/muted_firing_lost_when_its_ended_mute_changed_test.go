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

// TestMutedFiringLostWhenItsEndedMuteChanged: live raised a firing under a mute (its
// record says muted) while notify was down or behind; before the stage reads it, no
// mute covers the alert any more. The firing is owed (docs/notifications.md: "a muted
// firing still open is sent ... of the end of the mutes that covered it"), and it is
// sent when the fold holds the ended mute (first row). When the ended mute was then
// deleted (the console lists ended mutes, to delete), or the mute was narrowed by an
// upsert to another rule while in force, the fold holds no mute that covered the alert,
// and the firing is never sent nor recorded undelivered: the same alerts give another
// answer because of a clean-up control. A stage that read the firing while the mute
// was in force sends it in both cases.
func TestMutedFiringLostWhenItsEndedMuteChanged(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes: make test runs it")
	}
	now := time.Now().Truncate(time.Second)
	mute := func(until time.Time, ruleID string) *rule.Mute {
		return &rule.Mute{Scope: "c-1", ID: "maint", Rule: ruleID, Reason: "maintenance", By: "ops", Until: until}
	}
	for _, tc := range []struct {
		name  string
		later *rule.Control // a control after the firing, at now-10m; nil: none
		until time.Time
	}{
		{name: "ended mute kept", until: now.Add(-30 * time.Minute)},
		{name: "ended mute deleted after its end", until: now.Add(-30 * time.Minute),
			later: rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "maint"})},
		{name: "mute narrowed to another rule while in force",
			later: rule.UpsertMute(mute(time.Time{}, "other"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t)
			hook := newSink(t, func(_ int, _ http.ResponseWriter, _ *http.Request) bool { return true })
			recs := controlRecords(t,
				rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}),
				rule.UpsertMute(mute(tc.until, "*")))
			for _, r := range recs {
				r.Timestamp = now.Add(-2 * time.Hour)
			}
			b.Produce(t, recs...)
			// The firing, raised under the mute at now-1h: its record says muted.
			firing := alertFor("f1", "c-1", []string{"ops"})
			firing.Muted = true
			fv, _ := json.Marshal(firing)
			b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv, Timestamp: now.Add(-time.Hour)})
			if tc.later != nil {
				lr := controlRecords(t, tc.later)
				lr[0].Timestamp = now.Add(-10 * time.Minute)
				b.Produce(t, lr...)
			}

			cfg := notify.Config{
				Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "notify-ended-mute-changed",
				Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
				CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
			}
			st, _ := startMember(t, cfg)
			if st.Registry().Muted("r", "c-1", time.Now()) != nil {
				t.Fatal("a mute covers the alert now")
			}
			lv, _ := json.Marshal(alertFor("a2", "c-2", []string{"ops"}))
			b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: lv})
			poll.Until(t, 10*time.Second, "a later alert delivered", func() bool {
				return slices.Contains(hook.delivered(), "a2:firing")
			})
			// The receiver takes every request, so the firing owed is delivered, at the
			// stage's next check for ended mutes (each second).
			poll.Until(t, 15*time.Second, "the firing f1, muted by its record, still open and covered by no mute now, delivered", func() bool {
				return slices.Contains(hook.delivered(), "f1:firing")
			})
		})
	}
}
