package notify_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestAlertMutedByAMuteInForceIsNotRecordedUndelivered: a mute of rule r is in force as
// alert a0 of rule r is read, its record not muted (live wrote it before the mute
// came), naming "nowhere", which no destination defines. It is muted, as every alert a
// mute in force covers: nothing is delivered, and no undelivered record says "no
// destination". The mutation hunt (stage.go, handle, "muted := a.Muted || inForce" as
// "a.Muted") queued it as an alert to deliver, and with no destination it was
// recorded undelivered; no test failed.
func TestAlertMutedByAMuteInForceIsNotRecordedUndelivered(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "*", ID: "maint", Rule: "r", Reason: "maintenance", By: "ops"}))...)
	const group = "notify-muted-in-force-no-destination"
	st := oneAttemptStage(t, b, group, nil)
	runStage(t, st)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })

	v, _ := json.Marshal(alertFor("a0", "c-1", []string{"nowhere"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	// Handled (committed) once muted, or once its undelivered record landed.
	poll.Until(t, 10*time.Second, "a0 handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 1 })
	if n := b.TopicRecords(t, "alerts.undelivered"); n != 0 {
		t.Errorf("a0, covered by a mute in force as it was read, left %d undelivered records, want 0", n)
	}
	var states []string
	for _, d := range st.Recent() {
		for _, ds := range d.Destinations {
			states = append(states, ds.Name+":"+ds.State)
		}
	}
	if want := "nowhere:" + contract.DeliveryMuted; len(states) != 1 || states[0] != want {
		t.Errorf("a0's deliveries are %q, want [%s]", states, want)
	}
}
