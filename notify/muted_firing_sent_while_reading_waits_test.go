package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// TestMutedFiringSentWhileReadingWaits is TestMutedFiringSentBeforeItsMutedResolveIsRead
// with every record written in order, with the time it was written: the stage is behind
// only because its reading waits (--notify-max-pending reached, 1 here) on a slow
// receiver of another alert. A mute of rule r is in force; f1 (customer c-1) and f2
// (c-2) fire under it (records muted); a0, of another rule, goes to the slow
// destination; f1 resolves, still under the mute; then the mute is deleted. By the
// records f1 sends nothing (it resolved while muted) and f2, open at the delete, is
// owed. The check for ended mutes sent f1's firing with f2's while the resolve waited
// unread, and the resolve then followed it. Now neither is sent while the reading
// waits (the unread record could be either's resolve); once it is read, f2's is.
func TestMutedFiringSentWhileReadingWaits(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes: make test runs it")
	}
	group := "notify-reading-waits"
	rig := newReadingWaitsRig(t, group)
	b, st, received, free, alert := rig.b, rig.st, rig.received, rig.free, rig.alert
	b.Produce(t,
		alert("f1", "c-1", "r", contract.StatusFiring, true, "ops"),
		alert("f2", "c-2", "r", contract.StatusFiring, true, "ops"),
		alert("a0", "c-3", "r2", contract.StatusFiring, false, "slow"))
	resolve := alert("f1", "c-1", "r", contract.StatusResolved, true, "ops")
	resolve.Timestamp = time.Now()
	b.Produce(t, resolve)
	rig.deleteMuteAfter(t, resolve.Timestamp)
	// f2 is not sent while the reading waits: the unread record could be its resolve,
	// raised under the mute, and then neither is sent. The check runs at least once
	// more with the delete folded before the reading goes on; it must not send f1.
	ticks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "a check for ended mutes run with the delete folded", func() bool { return st.UnmuteChecks() >= ticks+2 })
	if got := received(); len(got) != 0 {
		t.Errorf("while the reading waits, with f1's resolve unread, the receiver got %q, want nothing: the unread resolve may be any owed firing's", got)
	}
	free()
	poll.Until(t, 15*time.Second, "the alerts handled", func() bool { return b.GroupCommitted(t, group, "alerts") == 4 })
	poll.Until(t, 10*time.Second, "f2's owed firing sent", func() bool { return slices.Contains(received(), "f2:firing") })
	if want := []string{"f2:firing"}; !slices.Equal(received(), want) {
		t.Errorf("the receiver got %q, want %q: f1 resolved under its mute, before the mute was deleted, so neither its firing nor its resolve is sent", received(), want)
	}
}
