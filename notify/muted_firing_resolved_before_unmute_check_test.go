package notify_test

import (
	"encoding/json"
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

// TestMutedFiringResolvedBeforeTheUnmuteCheck: a firing raised under a mute (its
// record says muted) is read and remembered muted; the mute is then deleted while the
// incident is open, so the firing is owed (docs/notifications.md), and its resolve,
// raised after the delete, follows it. The stage sent an owed firing only from its
// check for ended mutes, once a second: a resolve read before that check ran was muted
// as its firing had been, and the firing was never sent. Whether the receiver was paged
// depended on when the timer fired, not on the records. Both the delete and the resolve
// are read within far less than a second: by a running stage (the delete folded, then
// the resolve produced at once), and by a restarted one that reads both at its start
// (the muted firing remembered again from the alerts before its committed offset).
func TestMutedFiringResolvedBeforeTheUnmuteCheck(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "running"
		if restart {
			name = "restarted"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := startBroker(t)
			hookURL, received := keyRecorder(t)
			b.Produce(t, controlRecords(t,
				rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hookURL + "/hook"}),
				rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))...)
			group := "notify-resolved-before-unmute-check"
			cfg := notify.Config{
				Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
				Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
				CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
			}
			st, stop := startMember(t, cfg)
			poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
			firing := alertFor("f1", "c-1", []string{"ops"})
			firing.Muted = true
			fv, _ := json.Marshal(firing)
			b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: fv})
			poll.Until(t, 10*time.Second, "the muted firing handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 1 })

			resolved := firing
			resolved.Status, resolved.Muted = contract.StatusResolved, false
			rv, _ := json.Marshal(resolved)
			del := controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "c-1", ID: "maint"}))
			resolve := &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: rv}
			if restart {
				stop()
				b.Produce(t, append(del, resolve)...)
				startMember(t, cfg)
			} else {
				b.Produce(t, del...)
				poll.Until(t, 10*time.Second, "the mute's delete folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) == nil })
				b.Produce(t, resolve)
			}
			// The resolve is committed once handled: sent (after its firing) or muted.
			poll.Until(t, 15*time.Second, "the resolve handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 2 })
			if want := []string{"f1:firing", "f1:resolved"}; !slices.Equal(received(), want) {
				t.Errorf("the receiver got %q, want %q: the firing was owed once its mute was deleted, and the resolve, raised after the delete, follows it", received(), want)
			}
		})
	}
}
