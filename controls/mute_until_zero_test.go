package controls_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMuteUntilYearOneIsNotForever: a mute's until is any RFC 3339 time a producer
// writes; absent, the mute lasts until deleted. One written with until
// 0001-01-01T00:00:00Z (the far past: an ended mute, or a script's zero time) is read
// as Go's zero time, which Mute.InForce takes for "no end": it mutes every alert of
// every rule for ever. It must be refused with a clear error or be ended, never a
// silent permanent mute.
func TestMuteUntilYearOneIsNotForever(t *testing.T) {
	setLimits(t, rule.DefaultLimits)
	g := controls.NewRegistry()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := `{"op":"upsert","mute":{"scope":"*","id":"past","rule":"*","until":"0001-01-01T00:00:00Z","reason":"ended long ago"}}`
	outcome, msg := g.Apply(controls.Decode([]byte("mute:*/past"), []byte(m), 0, 0, at))
	if outcome != contract.ControlOK {
		// Refused, with a reason: fine. A record published so before decoding refused
		// it is refused as invalid when folded, so it mutes nothing.
		if outcome != contract.ControlInvalid || !strings.Contains(msg, "until: 0001-01-01T00:00:00Z is past") {
			t.Errorf("refused as %s %q; want invalid, naming until", outcome, msg)
		}
		return
	}
	if mu := g.Muted("any-rule", "c-1", at.Add(24*time.Hour)); mu != nil {
		t.Errorf("a mute with until 0001-01-01T00:00:00Z (applied %s %q) mutes rule any-rule for c-1 a day later (mute %+v): read as no end, it mutes everything for ever", outcome, msg, *mu)
	}
}
