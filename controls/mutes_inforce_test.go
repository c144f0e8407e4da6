package controls_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestMaxMutesCountsMutesInForce: max_mutes is "the most mutes in force at once"
// (README's limits table, the flag's help, rule.Limits.MaxMutes). A mute whose until
// had passed when a new mute's control was written is in force no more and takes no
// room: counted, mutes "for 2h" from the console filled the limit for good, and every
// later mute was refused though none was in force. Judged at the record's own time,
// the fold stays the same on every replay; a mute still in force, or without an end,
// keeps its place. An ended mute is kept, listed, until mute_retention after its end.
func TestMaxMutesCountsMutesInForce(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 1
	setLimits(t, lim)
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	second := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, until string
		wantOK      bool
		wantHeld    []string
	}{
		{"ended a month before", `"until":"2026-01-01T02:00:00Z",`, true, []string{"deploy-2"}},
		{"ended as the record was written", `"until":"2026-02-01T00:00:00Z",`, true, []string{"deploy-1", "deploy-2"}},
		{"ended a retention before", `"until":"2026-01-27T00:00:00Z",`, true, []string{"deploy-2"}},
		{"ended a second less than a retention before", `"until":"2026-01-27T00:00:01Z",`, true, []string{"deploy-1", "deploy-2"}},
		{"in force a second longer", `"until":"2026-02-01T00:00:01Z",`, false, []string{"deploy-1"}},
		{"without an end", ``, false, []string{"deploy-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := controls.NewRegistry()
			one := `{"op":"upsert","mute":{"scope":"*","id":"deploy-1","rule":"*",` + tc.until + `"reason":"deploy"}}`
			if outcome, msg := g.Apply(controls.Decode([]byte("mute:*/deploy-1"), []byte(one), 0, 0, first)); outcome != contract.ControlOK {
				t.Fatalf("first mute: %s %q", outcome, msg)
			}
			two := `{"op":"upsert","mute":{"scope":"*","id":"deploy-2","rule":"*","until":"2026-02-01T02:00:00Z","reason":"deploy"}}`
			outcome, msg := g.Apply(controls.Decode([]byte("mute:*/deploy-2"), []byte(two), 0, 1, second))
			var ids []string
			for _, m := range g.Mutes() {
				ids = append(ids, m.ID)
			}
			want := contract.ControlOK
			if !tc.wantOK {
				want = contract.ControlInvalid
			}
			if outcome != want || !slices.Equal(ids, tc.wantHeld) {
				t.Errorf("second mute: %s %q, mutes held %q; want %s, held %q (max_mutes 1 bounds mutes in force, mute_retention %s keeps ended ones)",
					outcome, msg, ids, want, tc.wantHeld, lim.MuteRetention)
			}
		})
	}
}
