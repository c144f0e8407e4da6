package controls

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// compactSim is what Kafka compaction leaves of log: the newest record of each key,
// in offset order, with the offsets they had.
func compactSim(log []simRec) []int {
	last := map[string]int{}
	for i, r := range log {
		last[r.key] = i
	}
	var offs []int
	for _, i := range last {
		offs = append(offs, i)
	}
	slices.Sort(offs)
	return offs
}

// foldSim folds the records of log at offs (in order) into a new registry, as a
// process reading the topic would (simTopic's offsets and times: offset = seconds).
func foldSim(log []simRec, offs []int) *Registry {
	g := NewRegistry()
	for _, off := range offs {
		r := log[off]
		cr := Decode([]byte(r.key), r.value, 0, int64(off), time.Unix(int64(off), 0))
		cr.Keeps, cr.KeeperAfter, cr.KeeperDepth = r.keeps, r.after, r.depth
		g.Apply(cr)
	}
	return g
}

// TestEndedMuteDroppedBeforeCompactionStaysDropped: max_mutes 1. Mute m1 ends; m2's
// upsert, finding the fold full, drops it (forgetEndedMutes, no record of m1's key);
// m2 is deleted. Before compaction the fold holds no mute. Compaction keeps m1's upsert
// (the newest record of its key) and m2's delete: a fold of the compacted topic holds
// m1, and Mutes (rules list, the console) shows it on a restarted daemon or the CLI
// but not on the daemon that ran through.
func TestEndedMuteDroppedBeforeCompactionStaysDropped(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxMutes = 1
	defer rule.SetLimits(rule.CurrentLimits())
	if err := rule.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	mute := func(id string, until int64) simRec {
		return simRec{key: "mute:*/" + id, value: fmt.Appendf(nil,
			`{"op":"upsert","mute":{"scope":"*","id":%q,"rule":"*","until":%q}}`, id, time.Unix(until, 0).UTC().Format(time.RFC3339))}
	}
	log := []simRec{
		mute("m1", 1),   // offset 0, time 0: ends at 1
		mute("m2", 100), // offset 1, time 1: m1 ended, dropped
		{key: "mute:*/m2", value: []byte(`{"op":"delete","kind":"mute","scope":"*","id":"m2"}`)},
	}
	ids := func(g *Registry) []string {
		var out []string
		for _, m := range g.Mutes() {
			out = append(out, m.ID)
		}
		return out
	}
	all := make([]int, len(log))
	for i := range all {
		all[i] = i
	}
	before, after := ids(foldSim(log, all)), ids(foldSim(log, compactSim(log)))
	if !slices.Equal(before, after) {
		t.Fatalf("mutes before compaction %q, after %q: a fold of the compacted topic must hold the same mutes", before, after)
	}
}

// TestMuteFoldSurvivesCompaction: random mute upserts and deletes of a few keys, record
// times rising with offsets, some mutes ending before later records: a fold of what
// compaction leaves holds the same mutes as the fold of the whole log (the limit out of
// reach: a refusal's Keeper is another test's).
func TestMuteFoldSurvivesCompaction(t *testing.T) {
	for seed := range uint64(300) {
		log := randomMuteLog(seed, func(off int) time.Time { return time.Unix(int64(off), 0).UTC() })
		all := make([]int, len(log))
		for i := range all {
			all[i] = i
		}
		ids := func(g *Registry) []string {
			var out []string
			for _, m := range g.Mutes() {
				out = append(out, m.ID+"@"+m.Until.Format(time.RFC3339))
			}
			return out
		}
		if before, after := ids(foldSim(log, all)), ids(foldSim(log, compactSim(log))); !slices.Equal(before, after) {
			for i, r := range log {
				t.Logf("offset %d: %s", i, r.value)
			}
			t.Fatalf("seed %d: mutes before compaction %q, after %q", seed, before, after)
		}
	}
}

// randomMuteLog is seed's random mute upserts and deletes of a few keys (a quarter
// deletes, a fifth of the upserts for ever), each upsert ending up to ten steps after
// its offset's time, at(offset).
func randomMuteLog(seed uint64, at func(offset int) time.Time) []simRec {
	rng := rand.New(rand.NewPCG(seed, 7))
	var log []simRec
	for off := range 5 + rng.IntN(30) {
		id := fmt.Sprintf("m%d", rng.IntN(5))
		if rng.IntN(4) == 0 {
			log = append(log, simRec{key: "mute:*/" + id, value: fmt.Appendf(nil, `{"op":"delete","kind":"mute","scope":"*","id":%q}`, id)})
			continue
		}
		until := ""
		if rng.IntN(5) > 0 { // else for ever
			until = fmt.Sprintf(`,"until":%q`, at(off+rng.IntN(10)).Format(time.RFC3339))
		}
		log = append(log, simRec{key: "mute:*/" + id, value: fmt.Appendf(nil, `{"op":"upsert","mute":{"scope":"*","id":%q,"rule":"*"%s}}`, id, until)})
	}
	return log
}
