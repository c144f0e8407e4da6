package controls_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDeletedMuteCoversAlertsRaisedBeforeItsDelete: a mute deleted while in force is
// not listed, but EndedCovering finds it for an alert of its scope raised before the
// delete (the notify stage sends such a muted firing still open), not for one raised
// after, nor for another customer; past max_ended_mutes deletes, the oldest is
// forgotten and counted.
func TestDeletedMuteCoversAlertsRaisedBeforeItsDelete(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxEndedMutes = 1
	setLimits(t, lim)
	g := controls.NewRegistry()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	apply := func(i int, id, v string) {
		t.Helper()
		if outcome, msg := g.Apply(controls.Decode([]byte("mute:c-1/"+id), []byte(v), 0, int64(i), start.Add(time.Duration(i)*time.Minute))); outcome != contract.ControlOK {
			t.Fatalf("control %d: %s %q", i, outcome, msg)
		}
	}
	for i, id := range []string{"m1", "m2"} {
		apply(2*i, id, fmt.Sprintf(`{"op":"upsert","mute":{"scope":"c-1","id":%q,"rule":"*"}}`, id))
		apply(2*i+1, id, fmt.Sprintf(`{"op":"delete","kind":"mute","scope":"c-1","id":%q}`, id))
	}
	now := start.Add(time.Hour)
	if ms := g.MutesListed(now); len(ms) != 0 {
		t.Errorf("deleted mutes listed: %v", ms)
	}
	// m2: upserted at 2m, deleted at 3m.
	if m := g.EndedCovering("r", "c-1", start.Add(150*time.Second), now); m == nil || m.ID != "m2" {
		t.Errorf("an alert raised before m2's delete: covered by %v, want m2", m)
	}
	if m := g.EndedCovering("r", "c-1", start.Add(4*time.Minute), now); m != nil {
		t.Errorf("an alert raised after every delete: covered by %v, want none", m)
	}
	if m := g.EndedCovering("r", "c-2", start.Add(150*time.Second), now); m != nil {
		t.Errorf("another customer's alert: covered by %v, want none", m)
	}
	// m1's delete (at 1m) was forgotten for m2's at max_ended_mutes 1 (m2, deleted
	// later, covers that alert too).
	if m := g.EndedCovering("r", "c-1", start.Add(30*time.Second), now); m != nil && m.ID == "m1" {
		t.Errorf("m1's delete still held past max_ended_mutes 1")
	}
	if n := g.EndedMutesDropped(); n != 1 {
		t.Errorf("ended mutes dropped %d, want 1 (m1's delete)", n)
	}
}
