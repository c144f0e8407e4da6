package controls

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// randomMuteWrittenLog is a random log of controls over three mute keys, one a second
// (offset = seconds): upserts of a few versions per key (the same version again
// often, as a file applied twice), deletes, tombstones and records that do not parse
// (which a daemon answers with a Keeper).
func randomMuteWrittenLog(seed uint64) []simRec {
	rng := rand.New(rand.NewPCG(seed, 11))
	var log []simRec
	for off := range 5 + rng.IntN(40) {
		id := fmt.Sprintf("m%d", rng.IntN(3))
		key := "mute:*/" + id
		switch rng.IntN(8) {
		case 0:
			log = append(log, simRec{key: key, value: fmt.Appendf(nil, `{"op":"delete","kind":"mute","scope":"*","id":%q}`, id)})
			continue
		case 1:
			log = append(log, simRec{key: key}) // a tombstone
			continue
		case 2:
			log = append(log, simRec{key: key, value: []byte(`{"op":"upsert","mute":`)})
			continue
		}
		// Few distinct versions, so that an upsert often repeats what the key holds.
		until := fmt.Sprintf(`,"until":%q`, time.Unix(int64(off/4*4+4+rng.IntN(3)*3), 0).UTC().Format(time.RFC3339))
		if rng.IntN(6) == 0 {
			until = ""
		}
		log = append(log, simRec{key: key, value: fmt.Appendf(nil, `{"op":"upsert","mute":{"scope":"*","id":%q,"rule":"*"%s,"reason":"r%d"}}`, id, until, rng.IntN(2))})
	}
	return log
}

// foldSimAll is foldSim carrying every Keeper header (RefusedAt too).
func foldSimAll(log []simRec, offs []int) *Registry {
	g := NewRegistry()
	for _, off := range offs {
		r := log[off]
		cr := Decode([]byte(r.key), r.value, 0, int64(off), time.Unix(int64(off), 0))
		cr.Keeps, cr.KeeperAfter, cr.KeeperDepth, cr.RefusedAt = r.keeps, r.after, r.depth, r.refused
		g.Apply(cr)
	}
	return g
}

// upsertsOf is, by offset, the mute each valid mute upsert of log writes.
func upsertsOf(log []simRec) []*rule.Mute {
	out := make([]*rule.Mute, len(log))
	for off, r := range log {
		cr := Decode([]byte(r.key), r.value, 0, int64(off), time.Unix(int64(off), 0))
		if cr.Err == nil && cr.Control != nil && cr.Control.Op == rule.OpUpsert {
			out[off] = cr.Control.Mute
		}
	}
	return out
}

// upsertedBy reports whether upserts holds, at an offset no later than at (offset =
// seconds), a valid upsert of m's key whose mute is m but for its until, which a
// removing control may have brought forward: the control that made the mute an
// answer names.
func upsertedBy(upserts []*rule.Mute, m *rule.Mute, at int) bool {
	for off := 0; off <= at && off < len(upserts); off++ {
		if upserts[off] == nil {
			continue
		}
		got, want := *upserts[off], *m
		if !want.Until.IsZero() && (got.Until.IsZero() || !want.Until.After(got.Until)) {
			got.Until = want.Until
		}
		if reflect.DeepEqual(got, want) {
			return true
		}
	}
	return false
}

// TestEndedCoveringWrittenAcrossCompaction: random logs of mute controls (under
// max_mutes 2, so that upserts are refused for room and kept by Keepers), folded whole
// and as compaction leaves them, with and without their tombstones, asked
// EndedCoveringWritten over a grid of times. Compaction loses the time an earlier
// record of a version was written at (the fold takes the newest record's), so the
// compacted fold may answer no mute where the whole one answers one: a warning
// missed. It must never answer a mute where the whole fold answers none (a limit
// counted falsely), and the mute it answers must have been written by the time asked.
func TestEndedCoveringWrittenAcrossCompaction(t *testing.T) {
	if testing.Short() {
		t.Skip("EndedCoveringWritten across compaction over 300 random logs: make test runs it")
	}
	lim := rule.DefaultLimits
	lim.MaxMutes = 2
	defer rule.SetLimits(rule.CurrentLimits())
	missed := 0
	for seed := range uint64(300) {
		topic := simTopic(t, []*simDaemon{{g: NewRegistry(), limits: lim}}, randomMuteWrittenLog(seed), 200)
		if err := rule.SetLimits(lim); err != nil {
			t.Fatal(err)
		}
		all := make([]int, len(topic))
		for i := range all {
			all[i] = i
		}
		compacted := compactSim(topic)
		noTombstones := slices.DeleteFunc(slices.Clone(compacted), func(i int) bool { return topic[i].value == nil })
		whole := foldSimAll(topic, all)
		upserts := upsertsOf(topic)
		for _, c := range []struct {
			name string
			offs []int
		}{{"the compacted topic", compacted}, {"the compacted topic, its tombstones gone", noTombstones}} {
			g := foldSimAll(topic, c.offs)
			for _, h := range []*Registry{whole, g} {
				// Each mute held has its time, and no key held no longer: the map is
				// bounded as the mutes are (max_mutes, max_ended_mutes).
				if held, timed := keysOf(h.mutes), keysOf(h.mutesWritten); !slices.Equal(held, timed) {
					t.Fatalf("seed %d, %s: mutes held %q, times kept of %q", seed, c.name, held, timed)
				}
			}
			for at := 0; at < len(topic)+12; at++ {
				for now := at; now < len(topic)+16; now += 3 {
					atT, nowT := time.Unix(int64(at), 0), time.Unix(int64(now), 0)
					w, got := whole.EndedCoveringWritten("r", "c-1", atT, nowT), g.EndedCoveringWritten("r", "c-1", atT, nowT)
					if got != nil && w == nil {
						t.Fatalf("seed %d, %s: at %ds, now %ds: mute %s (until %d) answered, none folding the whole log\ntopic: %s",
							seed, c.name, at, now, got.ID, got.Until.Unix(), showSim(topic))
					}
					if got != nil && !upsertedBy(upserts, got, at) {
						t.Fatalf("seed %d, %s: at %ds, now %ds: mute %s (until %d) answered, written by no control by then\ntopic: %s",
							seed, c.name, at, now, got.ID, got.Until.Unix(), showSim(topic))
					}
					if w != nil && !upsertedBy(upserts, w, at) {
						t.Fatalf("seed %d, the whole log: at %ds, now %ds: mute %s (until %d) answered, written by no control by then\ntopic: %s",
							seed, at, now, w.ID, w.Until.Unix(), showSim(topic))
					}
					if w != nil && got == nil {
						missed++
					}
				}
			}
		}
	}
	t.Logf("300 logs: %d answers of the whole fold the compacted one missed", missed)
}

func keysOf[V any](m map[rule.Key]V) []string {
	var out []string
	for k := range m {
		out = append(out, k.String())
	}
	slices.Sort(out)
	return out
}

func showSim(log []simRec) string {
	s := ""
	for off, r := range log {
		s += fmt.Sprintf("\n  %d %s %s keeper=%v refused=%v", off, r.key, r.value, r.after != nil, r.refused)
	}
	return s
}
