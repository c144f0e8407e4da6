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

// TestMutedFiringSentBeforeItsMutedResolveIsRead: a mute of rule r is in force; the
// firings f1 (customer c-1) and f2 (c-2) are raised under it (their records say muted),
// f1 resolves at tResolve while the mute is still on, and the mute is deleted at
// tDelete, after. By the records f1 resolved while still muted: neither its firing nor
// its resolve is sent (docs/notifications.md: "A firing that resolves while still muted
// ... sends nothing, neither firing nor resolve, then or later"); f2, still open at the
// delete, is owed and sent. A stage that reads the records in one go after they were
// all written (the "all at once" case) does so. A stage behind on the alerts topic (it
// has read the firings and folded the delete, but not yet read f1's resolve, written
// before the delete: its reading waits, at --notify-max-pending 1, on a0's slow
// receiver) sent f1's firing from its once-a-second check for ended mutes, as it sent
// f2's, before it read the resolve; the resolve then followed the "delivered" firing
// and was sent too. The same records paged the receiver or not by how far behind
// notify was. Now the check sends neither while a record that could be their resolve
// is unread. (This case once wrote f1's resolve only after the stage had read every
// record and folded the delete, its record time earlier: nothing was unread then, and
// no stage can tell such a record from a resolve raised later.)
func TestMutedFiringSentBeforeItsMutedResolveIsRead(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes: make test runs it")
	}
	for _, pacing := range []string{"all at once", "behind"} {
		t.Run(pacing, func(t *testing.T) {
			b := startBroker(t)
			hookURL, received := keyRecorder(t)
			slowURL, free := slowReceiver(t)
			base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
			tFiring, tResolve, tDelete := base, base.Add(time.Second), base.Add(2*time.Second)

			ctl := controlRecords(t,
				rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hookURL + "/hook"}),
				rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "slow", Type: rule.DestWebhook, URL: slowURL + "/hook"}),
				rule.UpsertMute(&rule.Mute{Scope: "*", ID: "maint", Rule: "r", Reason: "maintenance", By: "ops"}))
			for _, r := range ctl {
				r.Timestamp = base.Add(-time.Second)
			}
			alert := func(id, customer, ruleID, status string, muted bool, at time.Time, names ...string) *kgo.Record {
				a := alertFor(id, customer, names)
				a.RuleID, a.Status, a.Muted = ruleID, status, muted
				v, _ := json.Marshal(a)
				return &kgo.Record{Topic: "alerts", Key: []byte("k"), Value: v, Timestamp: at}
			}
			f1 := alert("f1", "c-1", "r", contract.StatusFiring, true, tFiring, "ops")
			f2 := alert("f2", "c-2", "r", contract.StatusFiring, true, tFiring, "ops")
			a0 := alert("a0", "c-3", "r2", contract.StatusFiring, false, tFiring, "slow")
			r1 := alert("f1", "c-1", "r", contract.StatusResolved, true, tResolve, "ops")
			del := controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "*", ID: "maint"}))
			del[0].Timestamp = tDelete

			group := "notify-behind-" + map[string]string{"all at once": "a", "behind": "b"}[pacing]
			cfg := notify.Config{
				Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group, MaxPending: 1,
				Sender:         notify.SenderConfig{Timeout: 30 * time.Second, MaxAttempts: 1, AllowPrivate: true},
				CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
			}
			if pacing == "all at once" {
				free()
				b.Produce(t, ctl...)
				b.Produce(t, f1, f2, a0, r1)
				b.Produce(t, del...)
				startMember(t, cfg)
			} else {
				b.Produce(t, ctl...)
				st, _ := startMember(t, cfg)
				poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
				b.Produce(t, f1, f2, a0, r1)
				poll.Until(t, 10*time.Second, "the muted firings handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 2 })
				// The delete (at tDelete) is folded while the resolve written before it,
				// at tResolve, is unread: notify is behind on the alerts topic.
				b.Produce(t, del...)
				poll.Until(t, 10*time.Second, "the mute's delete folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) == nil })
				ticks := st.UnmuteChecks()
				poll.Until(t, 10*time.Second, "a check for ended mutes run with the delete folded", func() bool { return st.UnmuteChecks() >= ticks+2 })
				if got := received(); len(got) != 0 {
					t.Errorf("with f1's resolve unread, the receiver got %q, want nothing yet: the unread resolve may be any owed firing's", got)
				}
				free()
			}
			poll.Until(t, 15*time.Second, "the alerts handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 4 })
			poll.Until(t, 10*time.Second, "f2's owed firing sent", func() bool { return slices.Contains(received(), "f2:firing") })
			if want := []string{"f2:firing"}; !slices.Equal(received(), want) {
				t.Errorf("the receiver got %q, want %q: f1 resolved at %s while its mute was on (deleted at %s), so neither its firing nor its resolve is sent, whatever notify's pacing",
					received(), want, tResolve.Format(time.StampMilli), tDelete.Format(time.StampMilli))
			}
		})
	}
}
