package controls

import (
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// TestEndedMutesBoundKeepsMutesInForceAcrossCompaction: under max_ended_mutes 1, random
// logs of mute controls an hour apart, folded whole and as compaction leaves them. The
// folds may hold different ended mutes (the bound forgets by what was held at each
// control, and compaction removes controls; a review found 44 of 300 logs differing),
// which the docs say; the mutes in force at the last control's time, and at each hour
// after it, are the same.
func TestEndedMutesBoundKeepsMutesInForceAcrossCompaction(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxEndedMutes = 1
	defer rule.SetLimits(rule.CurrentLimits())
	if err := rule.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	hour := func(h int) time.Time { return time.Unix(int64(h)*3600, 0).UTC() }
	fold := func(log []simRec, offs []int) *Registry {
		g := NewRegistry()
		for _, off := range offs {
			g.Apply(Decode([]byte(log[off].key), log[off].value, 0, int64(off), hour(off)))
		}
		return g
	}
	inForce := func(g *Registry, at time.Time) []string {
		var out []string
		for _, m := range g.Mutes() {
			if m.Until.IsZero() || at.Before(m.Until) {
				out = append(out, m.ID)
			}
		}
		return out
	}
	differ, forgot := 0, int64(0)
	for seed := range uint64(300) {
		log := randomMuteLog(seed, hour)
		all := make([]int, len(log))
		for i := range all {
			all[i] = i
		}
		whole, compacted := fold(log, all), fold(log, compactSim(log))
		forgot += whole.EndedMutesDropped()
		if !slices.Equal(whole.Mutes(), compacted.Mutes()) {
			differ++
		}
		for h := len(log) - 1; h < len(log)+10; h++ {
			if a, b := inForce(whole, hour(h)), inForce(compacted, hour(h)); !slices.Equal(a, b) {
				t.Fatalf("seed %d, hour %d: mutes in force %q folding the whole log, %q the compacted topic", seed, h, a, b)
			}
		}
	}
	if forgot == 0 {
		t.Fatal("max_ended_mutes 1 forgot no mute over 300 logs: the bound was not exercised")
	}
	t.Logf("300 logs: %d ended mutes forgotten past max_ended_mutes; %d logs fold to different ended mutes held", forgot, differ)
}
