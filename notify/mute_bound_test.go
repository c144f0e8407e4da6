package notify_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMuteInForceByTheClockNotForgotten, over Kafka on loopback with a real webhook: a
// console whose clock is an hour fast writes a mute "for 5m" for one customer after
// another, every 10 minutes (by its clock), under max_mutes 2 and max_ended_mutes 2.
// The fold files mutes as ended at the newest mute control's record time; the bound
// forgot c-0's mute, in force by the stage's clock for another 65 minutes, and c-0's
// alert was delivered (a review's test). The bound now takes only mutes that ended an
// hour before the control's own time: c-0's alert is muted.
func TestMuteInForceByTheClockNotForgotten(t *testing.T) {
	lim := rule.CurrentLimits()
	t.Cleanup(func() { _ = rule.SetLimits(lim) })
	l := rule.DefaultLimits
	l.MaxMutes, l.MaxEndedMutes = 2, 2
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	b := startBroker(t)
	hook := newSink(t, ok200)
	st, _ := reapingStage(t, b, "notify-mute-bound")
	now := time.Now()
	fast := now.Add(time.Hour) // the console's clock
	for i := range 4 {
		at := fast.Add(time.Duration(i) * 10 * time.Minute)
		recs := controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: fmt.Sprintf("c-%d", i), ID: "deploy", Rule: "*",
			Until: rule.MuteUntil(at, 5*time.Minute), Reason: "deploy"}))
		recs[0].Timestamp = at
		b.Produce(t, recs...)
	}
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "ops", Type: rule.DestWebhook, URL: hook.srv.URL + "/hook"}))...)
	poll.Until(t, 10*time.Second, "the controls folded", func() bool {
		_, ok := st.Registry().Destination("c-0", "ops")
		return ok
	})
	for i := range 4 {
		if m := st.Registry().Muted("r", fmt.Sprintf("c-%d", i), time.Now()); m == nil {
			t.Errorf("customer c-%d: no mute in force by the clock, though its mute ends at %s (now %s); ended mutes forgotten past max_ended_mutes: %d",
				i, rule.MuteUntil(fast.Add(time.Duration(i)*10*time.Minute), 5*time.Minute).Format(time.RFC3339), time.Now().Format(time.RFC3339),
				st.Registry().EndedMutesDropped())
		}
	}
	v, _ := json.Marshal(alertFor(fmt.Sprintf("%032x", 1), "c-0", []string{"ops"}))
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-0"), Value: v})
	marker, _ := json.Marshal(alertFor(fmt.Sprintf("%032x", 2), "c-9", []string{"ops"})) // not muted: read after c-0's
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-9"), Value: marker})
	poll.Until(t, 10*time.Second, "c-9's alert delivered", func() bool { return len(hook.delivered()) >= 1 })
	time.Sleep(200 * time.Millisecond)
	if got := hook.delivered(); len(got) != 1 {
		t.Errorf("deliveries %q: c-0's alert, under its mute in force by the clock, was delivered", got)
	}
}
