package notify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
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

// TestMutedFiringSentBeforeItsMutedResolveIsRead: a mute of every customer is in
// force; the firings f1 (customer c-1) and f2 (c-2) are raised under it (their records
// say muted), f1 resolves at tResolve while the mute is still on, and the mute is
// deleted at tDelete, after. By the records f1 resolved while still muted: neither its
// firing nor its resolve is sent (docs/notifications.md: "A firing that resolves while
// still muted ... sends nothing, neither firing nor resolve, then or later"); f2, still
// open at the delete, is owed and sent. A stage that reads the records in one go after
// they were all written (the "all at once" case) does so. A stage a little behind on
// the alerts topic (it has read the firings and folded the delete, but not yet read
// f1's resolve, which was written before the delete) sends f1's firing from its
// once-a-second check for ended mutes, as it sends f2's, before it reads the resolve;
// the resolve then follows the "delivered" firing and is sent too. The same records
// page the receiver or not by how far behind notify was. The check is known to have
// run with the delete folded once f2's firing arrived (one pass sends both).
func TestMutedFiringSentBeforeItsMutedResolveIsRead(t *testing.T) {
	for _, pacing := range []string{"all at once", "behind"} {
		t.Run(pacing, func(t *testing.T) {
			b := startBroker(t)
			var mu sync.Mutex
			var got []string
			hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, r.Header.Get(notify.HeaderIdempotencyKey))
				mu.Unlock()
			}))
			t.Cleanup(hook.Close)
			received := func() []string {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(got)
			}
			base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
			tFiring, tResolve, tDelete := base, base.Add(time.Second), base.Add(2*time.Second)

			ctl := controlRecords(t,
				rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.URL + "/hook"}),
				rule.UpsertMute(&rule.Mute{Scope: "*", ID: "maint", Rule: "*", Reason: "maintenance", By: "ops"}))
			for _, r := range ctl {
				r.Timestamp = base.Add(-time.Second)
			}
			alert := func(id, customer, status string, at time.Time) *kgo.Record {
				a := alertFor(id, customer, []string{"ops"})
				a.Status, a.Muted = status, true
				v, _ := json.Marshal(a)
				return &kgo.Record{Topic: "alerts", Key: []byte("k"), Value: v, Timestamp: at}
			}
			f1 := alert("f1", "c-1", contract.StatusFiring, tFiring)
			f2 := alert("f2", "c-2", contract.StatusFiring, tFiring)
			r1 := alert("f1", "c-1", contract.StatusResolved, tResolve)
			del := controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "*", ID: "maint"}))
			del[0].Timestamp = tDelete

			group := "notify-behind-" + map[string]string{"all at once": "a", "behind": "b"}[pacing]
			cfg := notify.Config{
				Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: group,
				Sender:         notify.SenderConfig{Timeout: 5 * time.Second, MaxAttempts: 3, AllowPrivate: true},
				CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t),
			}
			if pacing == "all at once" {
				b.Produce(t, ctl...)
				b.Produce(t, f1, f2, r1)
				b.Produce(t, del...)
				startMember(t, cfg)
			} else {
				b.Produce(t, ctl...)
				st, _ := startMember(t, cfg)
				poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
				b.Produce(t, f1, f2)
				poll.Until(t, 10*time.Second, "the muted firings handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 2 })
				// The delete (at tDelete) is folded before the resolve written at
				// tResolve, earlier, is read: notify is behind on the alerts topic.
				b.Produce(t, del...)
				poll.Until(t, 10*time.Second, "the mute's delete folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) == nil })
			}
			poll.Until(t, 10*time.Second, "f2's owed firing sent", func() bool { return slices.Contains(received(), "f2:firing") })
			if pacing == "behind" {
				b.Produce(t, r1)
			}
			poll.Until(t, 10*time.Second, "the alerts handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 3 })
			if want := []string{"f2:firing"}; !slices.Equal(received(), want) {
				t.Errorf("the receiver got %q, want %q: f1 resolved at %s while its mute was on (deleted at %s), so neither its firing nor its resolve is sent, whatever notify's pacing",
					received(), want, tResolve.Format(time.StampMilli), tDelete.Format(time.StampMilli))
			}
		})
	}
}
