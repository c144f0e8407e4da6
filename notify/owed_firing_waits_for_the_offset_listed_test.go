package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/rule"
)

// TestOwedFiringWaitsOnlyForTheOffsetListedAtItsMutesEnd: f2 fires under a mute of
// rule r; the mute is deleted while the reading waits (--notify-max-pending 1, a0 held
// by a slow receiver), so the check for ended mutes lists the partition's end (3) and
// holds f2 until the reading passes it. Then a2 (held by a second slow receiver) and
// a3 are written, and a0 is freed: the reading passes offset 3 and waits again, at a3.
// f2 is sent then: a record written after the listing is no resolve raised under the
// mute. The mutation hunt (open.go, passed, the listed offset dropped at every check,
// "EndedCovering(...) != nil" removed) listed the end again at each check: a reading
// behind a partition written on chased its end, and f2 waited for a2's receiver; no
// test failed.
func TestOwedFiringWaitsOnlyForTheOffsetListedAtItsMutesEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out checks for ended mutes (about 4 s): make test runs it")
	}
	rig := newReadingWaitsRig(t, "notify-owed-listed-once")
	b, received, free, alert := rig.b, rig.received, rig.free, rig.alert
	free2 := rig.owedBehindTheReading(t)
	if got := received(); len(got) != 0 {
		t.Fatalf("while the reading waits at a1 (offset 2), the receiver got %q, want nothing: the unread a1 could have been f2's resolve", got)
	}

	b.Produce(t,
		alert("a2", "c-3", "r2", contract.StatusFiring, false, "slow2"),
		alert("a3", "c-3", "r2", contract.StatusFiring, false, "ops"))
	free()
	poll.Within(10*time.Second, func() bool { return slices.Contains(received(), "f2:firing") })
	if want := []string{"a1:firing", "f2:firing"}; !slices.Equal(received(), want) {
		t.Fatalf("with the reading past offset 3, the end listed at the mute's delete, and waiting again at a3 (a2 held), the receiver got %q, want %q: f2 waits only for the offset listed, not for records written after",
			received(), want)
	}
	free2()
	poll.Until(t, 10*time.Second, "a3 sent", func() bool { return slices.Contains(received(), "a3:firing") })
	if want := []string{"a1:firing", "f2:firing", "a3:firing"}; !slices.Equal(received(), want) {
		t.Errorf("the receiver got %q, want %q", received(), want)
	}
}

// owedBehindTheReading adds destination slow2 (its receiver holding requests until
// free2 is called), reads f2 (muted, c-2) and, behind it, a0 (to the held "slow") and
// a1 (c-3), deletes the rig's mute and waits until two checks for ended mutes ran
// with the delete folded: f2 is then owed its firing while the reading waits.
func (rig *readingWaitsRig) owedBehindTheReading(t *testing.T) (free2 func()) {
	t.Helper()
	b, st, alert := rig.b, rig.st, rig.alert
	slow2URL, free2 := slowReceiver(t)
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "slow2", Type: rule.DestWebhook, URL: slow2URL + "/hook"}))...)
	poll.Until(t, 10*time.Second, "slow2 folded", func() bool { _, ok := st.Registry().Destination("c-3", "slow2"); return ok })

	b.Produce(t,
		alert("f2", "c-2", "r", contract.StatusFiring, true, "ops"),
		alert("a0", "c-3", "r2", contract.StatusFiring, false, "slow"),
		alert("a1", "c-3", "r2", contract.StatusFiring, false, "ops"))
	rig.deleteMuteAfter(t, time.Now())
	ticks := st.UnmuteChecks()
	poll.Until(t, 10*time.Second, "a check for ended mutes run with the delete folded", func() bool { return st.UnmuteChecks() >= ticks+2 })
	return free2
}
