package notify_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestResolveReadWhileItsFiringIsInFlightFollowsItUnderAMute: the firing's delivery is
// held at the receiver, a mute covering the alert is added, and the resolve is read
// while the firing is still on the wire. The firing is then delivered (its request
// was made before the mute), and the resolve follows it whatever mute is in force
// (open.go, atRead: judged once the firing's deliveries still under way are over);
// muted as it was read, the incident the firing opened would stay open. The mutation
// hunt judged the resolve as one whose firing is not remembered while that delivery
// was under way, and no test failed.
func TestResolveReadWhileItsFiringIsInFlightFollowsItUnderAMute(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	release := make(chan struct{})
	hook := newSink(t, holdUntil(release))
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	st := oneAttemptStage(t, b, "notify-resolve-in-flight", nil)
	runStage(t, st)
	produce := func(status string) {
		t.Helper()
		a := alertFor("a0", "c-1", []string{"ops"})
		a.Status = status
		v, _ := json.Marshal(a)
		b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	}
	produce(contract.StatusFiring)
	poll.Until(t, 10*time.Second, "the firing held at the receiver", func() bool { return hook.requests() == 1 })
	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "c-1", ID: "quiet", Rule: "*", Reason: "maintenance", By: "test"}))...)
	poll.Until(t, 10*time.Second, "the mute folded", func() bool { return st.Registry().Muted("r", "c-1", time.Now()) != nil })
	produce(contract.StatusResolved)
	resolveState := func() string {
		for _, d := range st.Recent() {
			if d.Alert.AlertID == "a0" && d.Alert.Status == contract.StatusResolved && len(d.Destinations) == 1 {
				return d.Destinations[0].State
			}
		}
		return ""
	}
	poll.Until(t, 10*time.Second, "the resolve read", func() bool { return resolveState() != "" })
	close(release)
	poll.Until(t, 10*time.Second, "the resolve's delivery over", func() bool {
		s := resolveState()
		return s == contract.DeliveryDelivered || s == contract.DeliveryMuted || s == contract.DeliveryUndelivered
	})
	if s := resolveState(); s != contract.DeliveryDelivered || !slices.Equal(hook.delivered(), []string{"a0:firing", "a0:resolved"}) {
		t.Errorf("the resolve read while its firing was in flight is %q, the receiver has %v; want delivered, [a0:firing a0:resolved]", s, hook.delivered())
	}
}
