package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestOwedFiringListedAgainAfterAMuteThatCoveredItsListing: f2 fires under the mute
// maint of rule r; maint is deleted while the reading waits (--notify-max-pending 1, a0
// held), and the check for ended mutes lists the partition's end (3) for f2. Then a
// mute "late" is folded that covered f2 at that listing and has ended since (its until
// between the two), and f2's resolve is written, stamped under it, behind a2, held by
// a second slow receiver. a0 freed, the reading passes offset 3 and waits at the
// resolve. What was listed before the late mute's end may precede a resolve raised
// under it: f2 is listed again, and waits for the resolve, which, covered by the late
// mute, sends neither. The mutation hunt (open.go, passed, the listed offset never
// dropped for "EndedCovering(...) != nil") sent f2 as the reading passed offset 3, its
// resolve unread; no test failed.
func TestOwedFiringListedAgainAfterAMuteThatCoveredItsListing(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes (about 6 s): make test runs it")
	}
	group := "notify-owed-listed-again"
	rig := newReadingWaitsRig(t, group)
	b, st, received, free, alert := rig.b, rig.st, rig.received, rig.free, rig.alert
	free2 := rig.owedBehindTheReading(t)

	// Ended by the time it is folded, so that no check sees it in force.
	until := time.Now()
	b.Produce(t, controlRecords(t, rule.UpsertMute(&rule.Mute{Scope: "*", ID: "late", Rule: "r", Until: until, Reason: "maintenance", By: "ops"}))...)
	resolvedAt := until.Add(-time.Millisecond)
	poll.Until(t, 10*time.Second, "the late mute folded", func() bool {
		return st.Registry().EndedCovering("r", "c-2", resolvedAt, time.Now()) != nil
	})
	resolve := alert("f2", "c-2", "r", contract.StatusResolved, true, "ops")
	resolve.Timestamp = resolvedAt
	b.Produce(t, alert("a2", "c-3", "r2", contract.StatusFiring, false, "slow2"), resolve)
	free()
	poll.Until(t, 10*time.Second, "a1 sent", func() bool { return slices.Contains(received(), "a1:firing") })
	ticks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "checks for ended mutes run with the reading past offset 3", func() bool { return st.UnmuteChecks() >= ticks+3 })
	if got, want := received(), []string{"a1:firing"}; !slices.Equal(got, want) {
		t.Errorf("with f2's resolve unread behind a2, the receiver got %q, want %q: listed before the late mute's end, f2 waits for the partition's end listed again", got, want)
	}

	free2()
	poll.Until(t, 15*time.Second, "the alerts handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 5 })
	ticks = st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "checks for ended mutes run after the resolve", func() bool { return st.UnmuteChecks() >= ticks+2 })
	if got, want := received(), []string{"a1:firing"}; !slices.Equal(got, want) {
		t.Errorf("the receiver got %q, want %q: f2 resolved under the late mute, so neither its firing nor its resolve is sent", got, want)
	}
}
