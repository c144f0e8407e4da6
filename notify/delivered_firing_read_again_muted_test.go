package notify_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDeliveredFiringReadAgainUnderAMuteIsNotSentAgainAtItsEnd: f1's firing is
// delivered to ops; then a mute of rule r comes, and f1's record is read again (live
// writes at least once), muted now. f1 was delivered: its resolve is to follow it
// there, and the mute's end owes nothing. The mutation hunt (open.go, remember, without
// "od.target == nil") marked the delivered firing muted as its record was read again,
// and the mute's end sent it a second time; no test failed.
func TestDeliveredFiringReadAgainUnderAMuteIsNotSentAgainAtItsEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes (about 3 s): make test runs it")
	}
	t.Parallel()
	b := startBroker(t)
	opsURL, received := keyRecorder(t)
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: opsURL + "/hook"}))...)
	const group = "notify-delivered-read-again-muted"
	st := oneAttemptStage(t, b, group, nil)
	runStage(t, st)

	v, _ := json.Marshal(alertFor("f1", "c-1", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 10*time.Second, "f1 delivered", func() bool { return b.GroupCommitted(t, group, "alerts") == 1 })

	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "*", ID: "maint", Rule: "r", Reason: "maintenance", By: "ops"}))...)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	poll.Until(t, 10*time.Second, "f1's record read again", func() bool { return b.GroupCommitted(t, group, "alerts") == 2 })

	b.Produce(t, controlRecords(t, rule.DeleteOf(rule.KindMute, rule.Key{Scope: "*", ID: "maint"}))...)
	poll.Until(t, 10*time.Second, "the mute's delete folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) == nil })
	ticks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "checks for ended mutes run after the delete", func() bool { return st.UnmuteChecks() >= ticks+3 })
	if got, want := received(), []string{"f1:firing"}; !slices.Equal(got, want) {
		t.Errorf("ops got %q, want %q: f1 was delivered before the mute, and its end owes nothing", got, want)
	}
}
