package controls

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestFutureStampedControlEndsNoMuteInForce: a control whose record time is ahead of
// the clock (its producer's clock running fast) is folded after a mute that ends
// before that time but after now. The mute is in force by the clock, and stays: ended
// mutes are forgotten at the record's time, and forgetting at a time not yet come
// dropped a mute in force, its alerts delivered.
func TestFutureStampedControlEndsNoMuteInForce(t *testing.T) {
	t.Parallel()
	now := time.Now()
	g := NewRegistry()
	m := &rule.Mute{Scope: "*", ID: "maintenance", Rule: "*", Until: now.Add(time.Hour)}
	if st, msg := g.Apply(Record{Key: "mute:*/maintenance", Offset: 1, Time: now, Control: rule.UpsertMute(m)}); st != contract.ControlOK {
		t.Fatalf("mute: %s %s", st, msg)
	}
	r, err := rule.ParseRule([]byte(`{"id":"r","scope":"*","threshold":1,"when":{"path":"$.x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if st, msg := g.Apply(Record{Key: "*/r", Offset: 2, Time: now.Add(2 * time.Hour), Control: rule.Upsert(r)}); st != contract.ControlOK {
		t.Fatalf("rule: %s %s", st, msg)
	}
	if g.Muted("r", "c-1", time.Now()) == nil {
		t.Errorf("the mute in force until %s was dropped by a control stamped %s", m.Until.Format(time.RFC3339), now.Add(2*time.Hour).Format(time.RFC3339))
	}
}
