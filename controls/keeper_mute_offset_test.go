package controls

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestKeeperOfAMuteWrittenWithAnOffsetIsNoChange: a mute's until may be written
// with a UTC offset ("+00:00", as many clients write it). Its Keeper (Registry.Keeper)
// re-encodes the mute, which writes "Z"; applyKeyed compares with reflect.DeepEqual,
// which told the two time.Time values apart by their *Location, so the Keeper of what
// the key held was taken for a change: the second daemon's Keeper of the same control
// was then stale and wanted a Keeper of its own. Until is held in UTC (ParseControl),
// so that "An upsert of what a destination's or mute's key holds already is no change,
// so two daemons' Keepers of one control converge" (docs/architecture.md).
func TestKeeperOfAMuteWrittenWithAnOffsetIsNoChange(t *testing.T) {
	g := NewRegistry()
	const key = "mute:*/deploy"
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	mute := []byte(`{"op":"upsert","mute":{"scope":"*","id":"deploy","rule":"*","until":"2026-12-02T00:00:00+00:00"}}`)
	if got, msg := g.Apply(Decode([]byte(key), mute, 0, 1, at)); got != contract.ControlOK {
		t.Fatalf("upsert: %s %s", got, msg)
	}
	bad := Decode([]byte(key), []byte(`{"op":"upsert","mute":{"scope":"*","id":"deploy","rule":""}}`), 0, 2, at)
	if got, _ := g.Apply(bad); got != contract.ControlInvalid {
		t.Fatalf("invalid mute: %s", got)
	}
	keeper, _, _ := g.Keeper(bad, nil)
	if keeper == nil || keeper.Mute == nil {
		t.Fatalf("keeper %+v", keeper)
	}
	value, err := keeper.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	after := int64(2)
	for i, off := range []int64{3, 4} { // two daemons' Keepers of the control at offset 2
		rec := Decode([]byte(key), value, 0, off, at)
		rec.KeeperAfter = &after
		if got, msg := g.Apply(rec); got != contract.ControlOK || msg != Unchanged {
			t.Errorf("daemon %d's Keeper (%s) at offset %d: %s %q, want %s %q", i+1, value, off, got, msg, contract.ControlOK, Unchanged)
		}
	}
}
