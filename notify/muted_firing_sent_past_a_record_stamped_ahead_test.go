package notify_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestMutedFiringSentPastARecordStampedAhead is TestMutedFiringSentWhileReadingWaits
// with one more record before f1's resolve: x, another customer's alert naming no
// destination, whose record time is an hour ahead of the wall clock (alerts carry
// their events' times, any a producer stamps). Stage.passed takes the latest record
// time handled for how far the reading has passed the mute's end, as if a partition's
// records came in record-time order; x's time is past the delete, so the check for
// ended mutes sends f1's firing while its resolve, raised under the mute, is still
// unread behind x, and the resolve then follows it. Read without the wait, the same
// records send nothing for f1 (its resolve is judged muted).
func TestMutedFiringSentPastARecordStampedAhead(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes: make test runs it")
	}
	group := "notify-stamped-ahead"
	rig := newReadingWaitsRig(t, group)
	b, st, received, free, alert := rig.b, rig.st, rig.received, rig.free, rig.alert
	x := alertFor("x", "c-9", nil)
	x.RuleID = "r3"
	ahead := &kgo.Record{Topic: "alerts", Key: []byte("k"), Value: x.AppendJSON(nil), Timestamp: time.Now().Add(time.Hour)}
	b.Produce(t,
		alert("f1", "c-1", "r", contract.StatusFiring, true, "ops"),
		alert("a0", "c-3", "r2", contract.StatusFiring, false, "slow"),
		ahead)
	resolve := alert("f1", "c-1", "r", contract.StatusResolved, true, "ops")
	resolve.Timestamp = time.Now()
	b.Produce(t, resolve)
	rig.deleteMuteAfter(t, resolve.Timestamp)
	ticks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "a check for ended mutes run with the delete folded", func() bool { return st.UnmuteChecks() >= ticks+2 })
	if got := received(); len(got) != 0 {
		t.Errorf("while the reading waits, with f1's resolve unread behind a record stamped an hour ahead, the receiver got %q, want nothing", got)
	}
	free()
	poll.Until(t, 15*time.Second, "the alerts handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 4 })
	ticks = st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "a check for ended mutes run after the reading", func() bool { return st.UnmuteChecks() >= ticks+2 })
	if got := received(); len(got) != 0 {
		t.Errorf("the receiver got %q, want nothing: f1 resolved under its mute, before the mute was deleted", got)
	}
}
