package controls

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestKeepersOfTwoDaemonsConverge: two daemons each write a Keeper of the same
// destination after the same control they did not apply. The first re-upserts what the
// key holds; taken for a change, it made the second stale, and each daemon wrote a
// Keeper of that in turn, without end (found by a review helper). An upsert of what a
// key holds already is no change: the second Keeper applies, unchanged, and needs no
// Keeper of its own.
func TestKeepersOfTwoDaemonsConverge(t *testing.T) {
	t.Parallel()
	g := NewRegistry()
	const key = "destination:*/secops"
	dest := []byte(`{"op":"upsert","destination":{"scope":"*","name":"secops","type":"webhook","url":"https://hooks.example.com/a"}}`)
	apply := func(value []byte, off int64, after *int64) (string, string) {
		rec := Decode([]byte(key), value, 0, off, time.Unix(off, 0))
		rec.KeeperAfter = after
		return g.Apply(rec)
	}
	if got, msg := apply(dest, 1, nil); got != contract.ControlOK {
		t.Fatalf("upsert: %s %s", got, msg)
	}
	after := int64(2) // a control at offset 2 neither daemon applied
	for i, off := range []int64{3, 4} {
		if got, msg := apply(dest, off, &after); got != contract.ControlOK || msg != Unchanged {
			t.Errorf("daemon %d's Keeper at offset %d: %s %q, want %s %q", i+1, off, got, msg, contract.ControlOK, Unchanged)
		}
	}
	changed := []byte(`{"op":"upsert","destination":{"scope":"*","name":"secops","type":"webhook","url":"https://hooks.example.com/b"}}`)
	if got, msg := apply(changed, 5, nil); got != contract.ControlOK || msg == Unchanged {
		t.Errorf("an upsert that changes the destination: %s %q, want a change", got, msg)
	}
	if got, _ := apply(dest, 6, &after); got != contract.ControlStale {
		t.Errorf("a Keeper written after offset 2, the key changed at 5: %s, want %s", got, contract.ControlStale)
	}
}
