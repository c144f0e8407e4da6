package controls

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// randomDeleteRaceLog is seed's random rule controls of a few keys, as publishers
// racing each other write them — upserts whose versions mostly go up, sometimes repeat
// or go down, deletes with the version seen (sometimes an older one) and without,
// tombstones — folded by one daemon that writes each Keeper right after the record
// that needs it (live.Daemon.keep), or after the next publisher's record now and then.
func randomDeleteRaceLog(t *testing.T, seed uint64) []simRec {
	rng := rand.New(rand.NewPCG(seed, 11))
	running := NewRegistry()
	var log, pending []simRec
	top := map[string]int64{} // the highest version a publisher of the key wrote
	write := func(r simRec) {
		off := int64(len(log))
		log = append(log, r)
		cr := Decode([]byte(r.key), r.value, 0, off, time.Unix(off, 0))
		cr.Keeps, cr.KeeperAfter, cr.KeeperDepth, cr.RefusedAt = r.keeps, r.after, r.depth, r.refused
		status, msg, room := running.ApplyRoom(cr)
		if !NeedsKeeper(cr, status, msg) {
			return
		}
		if c, keeps, refused := running.Keeper(cr, room); c != nil {
			val, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			pending = append(pending, simRec{key: c.RecordKey(), value: val, keeps: keeps, after: &off, depth: cr.KeeperDepth + 1, refused: refused})
		}
	}
	for range 5 + rng.IntN(40) {
		id := fmt.Sprintf("r%d", rng.IntN(3))
		key := "*/" + id
		k := rule.Key{Scope: "*", ID: id}
		seen := int64(0)
		if v, ok := running.Get(k); ok {
			seen = v.Version
		}
		switch n := rng.IntN(10); {
		case n < 5:
			v := max(seen, top[key]) + 1 - int64(rng.IntN(3)) // mostly up, sometimes equal or lower
			v = max(v, 1)
			top[key] = max(top[key], v)
			write(simRec{key: key, value: upsert(id, "*", v, fmt.Sprintf("$.v%d", rng.IntN(2)))})
		case n < 7:
			v := max(seen-int64(rng.IntN(2)), 1) // the version seen, or an older one
			write(simRec{key: key, value: delVersion("*", id, v)})
		case n < 8:
			write(simRec{key: key, value: del("*", id)})
		case n < 9:
			write(simRec{key: key}) // a tombstone
		default:
			write(simRec{key: key, value: []byte(`{"op":"upsert","rule":{"id":"` + id + `","scope":"*","version":1,"threshold":1,"when":{"path":"$["}}}`)}) // invalid
		}
		for len(pending) > 0 && rng.IntN(4) > 0 {
			k := pending[0]
			pending = pending[1:]
			write(k)
		}
	}
	for len(pending) > 0 && len(log) < 500 {
		k := pending[0]
		pending = pending[1:]
		write(k)
	}
	return log
}

// ruleFoldView is what a fold of rule controls shows of keys r0..r2: the active rules
// (version and identity), what Retired answers, and the outcomes of upserts of versions
// 1 to 12 (what a racing save, or a rule made again, meets).
func ruleFoldView(log []simRec, offs []int) []string {
	var out []string
	base := foldSim(log, offs)
	for _, v := range base.Versions() {
		out = append(out, fmt.Sprintf("active %s v%d offset %d fp %x", v.Key, v.Rule.Version, v.ControlOffset, v.Fingerprint))
	}
	for i := range 3 {
		k := rule.Key{Scope: "*", ID: fmt.Sprintf("r%d", i)}
		_, held := base.Get(k)
		if !held && !deletedWithoutVersion(log, k.String()) {
			// Of a key that holds a rule, a rule made again must be above that one. A
			// delete without a version (a tombstone too) retires the version of the
			// upsert it deletes, which compaction removes (Retired says so); the next
			// upserts, below, the folds take alike.
			v, ok := base.Retired(k)
			out = append(out, fmt.Sprintf("retired %s %d %v", k, v, ok))
		}
		// In rising order on the one fold: the first outcome the folds differ in shows,
		// whatever the later ones (an upsert taken raises what follows must be above).
		for ver := int64(1); ver <= 12; ver++ {
			got, _ := base.Apply(Decode([]byte(k.String()), upsert(k.ID, "*", ver, "$.next"), 0, int64(len(log)), time.Unix(int64(len(log)), 0)))
			out = append(out, fmt.Sprintf("upsert %s v%d: %s", k, ver, got))
		}
	}
	return out
}

// deletedWithoutVersion reports whether log holds a delete of key without a version,
// or a tombstone.
func deletedWithoutVersion(log []simRec, key string) bool {
	for off, r := range log {
		if d := Decode([]byte(r.key), r.value, 0, int64(off), time.Unix(int64(off), 0)); r.key == key && d.Control != nil && d.Control.Op == rule.OpDelete && d.Control.Version == 0 {
			return true
		}
	}
	return false
}

// TestDeleteRaceFoldSurvivesCompaction: a restarted daemon reads the controls topic as
// compaction left it (the newest record of each key; a tombstone, once past
// delete.retention.ms, not even that). Its fold must hold what the fold of the whole
// log holds, and refuse and take the same next upserts, or two daemons of one
// deployment run different rules.
func TestDeleteRaceFoldSurvivesCompaction(t *testing.T) {
	t.Parallel() // folds registries of its own under the default limits, which no parallel test sets
	seeds := uint64(400)
	if testing.Short() {
		seeds = 100 // the full run folds all 400
	}
	for seed := range seeds {
		log := randomDeleteRaceLog(t, seed)
		all := make([]int, len(log))
		for i := range all {
			all[i] = i
		}
		compacted := compactSim(log)
		noTombstones := slices.DeleteFunc(slices.Clone(compacted), func(i int) bool { return log[i].value == nil })
		whole := ruleFoldView(log, all)
		for _, c := range []struct {
			name string
			offs []int
		}{{"the compacted topic", compacted}, {"the compacted topic, its tombstones gone", noTombstones}} {
			got := ruleFoldView(log, c.offs)
			if !slices.Equal(whole, got) {
				for i, r := range log {
					t.Logf("offset %d: %s %s after=%v depth=%d", i, r.key, r.value, deref(r.after), r.depth)
				}
				for i := range whole {
					if i < len(got) && whole[i] != got[i] {
						t.Logf("whole: %s; %s: %s", whole[i], c.name, got[i])
					}
				}
				t.Fatalf("seed %d: the fold of %s differs from the fold of the whole log", seed, c.name)
			}
		}
	}
}

// TestDeleteWithoutVersionAfterAVersionedOneTakesAnyVersion: version 1 deleted by a
// delete that names it, then the key deleted again by one that names none (a
// tombstone a Kafka tool wrote, a publisher of before versions). Compaction keeps the
// latter alone of its key (a tombstone, past delete.retention.ms, not even that), and a
// restarted daemon's fold takes version 2; the fold of the whole log kept refusing it
// (stale), so two daemons of one deployment ran different rules. A delete without a
// version takes any version after it, as the control record's docs say.
func TestDeleteWithoutVersionAfterAVersionedOneTakesAnyVersion(t *testing.T) {
	k := rule.Key{Scope: "*", ID: "a"}
	for _, last := range []struct {
		name  string
		value []byte
	}{{"a tombstone", nil}, {"a delete without a version", del("*", "a")}} {
		for _, heldBefore := range []bool{false, true} {
			g := NewRegistry()
			fold := func(off int64, value []byte) (string, string) {
				return g.Apply(Decode([]byte(k.String()), value, 0, off, time.Unix(1700000000, 0)))
			}
			fold(0, upsert("a", "*", 1, "$.x"))
			fold(1, delVersion("*", "a", 1))
			if heldBefore { // made again above the retired versions, then deleted so
				fold(2, upsert("a", "*", 3, "$.x"))
			}
			fold(3, last.value)
			if got, msg := fold(4, upsert("a", "*", 2, "$.y")); got != contract.ControlOK {
				t.Errorf("%s after the delete of version 1 (rule made again before it: %v): version 2 %s %q, want ok, as a fold of the compacted topic (that delete alone) takes it",
					last.name, heldBefore, got, msg)
			}
		}
	}
}

// TestDeleteOfAnOlderVersionAfterANewerOneIsStale: version 2 deleted by a delete that
// names it, then a delete of version 1 (its publisher saw version 1 active) lands on
// the key holding nothing. It was not_found, and not followed by a Keeper: compaction
// kept it alone of its key, and a restarted daemon's fold took version 3 (an edit of
// version 2 begun before its delete), which the fold of the whole log refuses. Stale
// now, it is followed by a Keeper carrying version 2's delete, and the folds agree.
func TestDeleteOfAnOlderVersionAfterANewerOneIsStale(t *testing.T) {
	k := rule.Key{Scope: "*", ID: "a"}
	g := NewRegistry()
	fold := func(h *Registry, off int64, value []byte) (string, string) {
		return h.Apply(Decode([]byte(k.String()), value, 0, off, time.Unix(1700000000, 0)))
	}
	fold(g, 0, upsert("a", "*", 1, "$.x"))
	fold(g, 1, upsert("a", "*", 2, "$.x"))
	fold(g, 2, delVersion("*", "a", 2))
	rec := Decode([]byte(k.String()), delVersion("*", "a", 1), 0, 3, time.Unix(1700000000, 0))
	got, msg := g.Apply(rec)
	if got != contract.ControlStale || !NeedsKeeper(rec, got, msg) || !strings.Contains(msg, "deleted at offset 2 by a delete of version 2, newer than version 1 this delete was for") {
		t.Fatalf("delete of version 1 after the delete of version 2: %s %q, want stale, naming the newer delete, and a Keeper after it", got, msg)
	}
	keeper, origin, _ := g.Keeper(rec, nil)
	if keeper == nil || keeper.Op != rule.OpDelete || keeper.Version != 2 {
		t.Fatalf("keeper: %+v, want a delete of version 2", keeper)
	}
	kv, err := keeper.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	krec := Decode([]byte(k.String()), kv, 0, 4, time.Unix(1700000000, 0))
	krec.Keeps, krec.KeeperAfter = origin, new(int64(3))
	compacted := NewRegistry()
	for _, h := range []*Registry{g, compacted} {
		if got, msg := h.Apply(krec); got != contract.ControlOK {
			t.Fatalf("the keeper: %s %q", got, msg)
		}
	}
	for name, h := range map[string]*Registry{"whole": g, "compacted": compacted} {
		if got, msg := fold(h, 5, upsert("a", "*", 3, "$.y")); got != contract.ControlStale {
			t.Errorf("%s: version 3 after the delete of version 2: %s %q, want stale", name, got, msg)
		}
	}
}

// TestRetirementsForgottenPastMaxRulesAreCounted: the fold remembers the retirements
// of the newest max_rules deleted keys. Past it, a save racing the delete of a key
// forgotten is taken, the rule active again; that must be counted (RetiredDropped, in
// hindsight_limit_reached_total{name="max_rules"}), not silent.
func TestRetirementsForgottenPastMaxRulesAreCounted(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.DefaultLimits
	l.MaxRules = 2
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	off := int64(0)
	apply := func(key string, value []byte) (string, string) {
		off++
		return g.Apply(Decode([]byte(key), value, 0, off, time.Unix(1700000000, 0)))
	}
	apply("*/a", upsert("a", "*", 1, "$.x"))
	apply("*/a", delVersion("*", "a", 1))
	if got, msg := apply("*/a", upsert("a", "*", 2, "$.y")); got != contract.ControlStale || g.RetiredDropped() != 0 {
		t.Fatalf("version 2 after the delete of version 1: %s %q, %d forgotten; want stale, none", got, msg, g.RetiredDropped())
	}
	apply("*/b", delVersion("*", "b", 1))
	apply("*/c", delVersion("*", "c", 1)) // a forgotten: b and c are the newest two
	if n := g.RetiredDropped(); n != 1 {
		t.Errorf("%d retirements counted forgotten, want 1 (a's)", n)
	}
	if got, msg := apply("*/a", upsert("a", "*", 2, "$.y")); got != contract.ControlOK {
		t.Errorf("version 2 of a, its retirement forgotten: %s %q (the fold takes it: what the count warns of)", got, msg)
	}
	if v, ok := g.Retired(rule.Key{Scope: "*", ID: "b"}); !ok || v != 2 {
		t.Errorf("b retired %d %v, want 2 (remembered)", v, ok)
	}
}

// TestDeleteKeeperWithoutAVersionAfterAVersionedDeleteTakesAnyVersion: version 1 is
// deleted by a delete that names it, an edit of it racing the delete (version 2) is
// stale, and a Keeper of a build before versioned delete Keepers follows it: a delete
// that names no version. Compaction keeps that Keeper alone of its key, and a restart's
// fold of it took version 2, while the fold of the whole log kept the first delete's
// guard and refused it (stale): two daemons of one deployment ran different rules.
// The Keeper without a version takes any version after it, as a delete without one does.
func TestDeleteKeeperWithoutAVersionAfterAVersionedDeleteTakesAnyVersion(t *testing.T) {
	k := rule.Key{Scope: "*", ID: "a"}
	at := time.Unix(1700000000, 0)
	keeper := Decode([]byte(k.String()), del("*", "a"), 0, 3, at)
	keeper.Keeps, keeper.KeeperAfter, keeper.KeeperDepth = &Origin{Offset: 2, Time: at.UTC()}, new(int64(2)), 1
	whole, compacted := NewRegistry(), NewRegistry()
	whole.Apply(Decode([]byte(k.String()), upsert("a", "*", 1, "$.x"), 0, 0, at))
	whole.Apply(Decode([]byte(k.String()), delVersion("*", "a", 1), 0, 1, at))
	if got, msg := whole.Apply(Decode([]byte(k.String()), upsert("a", "*", 2, "$.y"), 0, 2, at)); got != contract.ControlStale {
		t.Fatalf("the edit of version 1 racing its delete: %s %q, want stale", got, msg)
	}
	for name, g := range map[string]*Registry{"whole": whole, "compacted": compacted} {
		if got, msg := g.Apply(keeper); got != contract.ControlOK {
			t.Fatalf("%s: the keeper: %s %q", name, got, msg)
		}
	}
	for name, g := range map[string]*Registry{"whole": whole, "compacted": compacted} {
		if got, msg := g.Apply(Decode([]byte(k.String()), upsert("a", "*", 2, "$.z"), 0, 4, at)); got != contract.ControlOK {
			t.Errorf("the fold of the %s log: version 2 after the keeper without a version: %s %q, want ok (what a fold of the keeper alone takes)", name, got, msg)
		}
	}
}

// TestUpsertRefusedForRoomAfterAVersionedDeleteEndsItsGuard: under max_rules 2, rules b
// and c held, version 1 of a is deleted by a delete that names it (an upsert of a at 2 or
// below refused: an edit racing the delete), then version 3 of a is published and
// refused for room, kept by itself, marked (Keeper). Compaction keeps that Keeper alone
// of a's key, and once b is deleted a restart's fold of the compacted topic took
// version 2, while the fold of the whole log still refused it (stale) by the delete's
// guard. A newer version published after the delete ends its guard, applied or refused
// for room alike, so both folds take version 2.
func TestUpsertRefusedForRoomAfterAVersionedDeleteEndsItsGuard(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	setLimits(t, 2, 1000)
	at := time.Unix(1700000000, 0)
	log := []simRec{
		{key: "*/b", value: upsert("b", "*", 1, "$.x")},
		{key: "*/c", value: upsert("c", "*", 1, "$.x")},
		{key: "*/a", value: delVersion("*", "a", 1)},
		{key: "*/a", value: upsert("a", "*", 3, "$.x")},
	}
	whole := NewRegistry()
	for off, r := range log {
		whole.Apply(propRecord(r, int64(off)))
	}
	g := NewRegistry() // the fold as it was when a's version 3 came, for its Keeper
	for off := range 3 {
		g.Apply(propRecord(log[off], int64(off)))
	}
	rec := propRecord(log[3], 3)
	got, msg, room := g.ApplyRoom(rec)
	if got != contract.ControlInvalid || room == nil {
		t.Fatalf("a version 3 past max_rules 2: %s %q, room %v", got, msg, room)
	}
	c, keeps, refused := g.Keeper(rec, room)
	val, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	log = append(log, simRec{key: c.RecordKey(), value: val, keeps: keeps, after: new(int64(3)), depth: 1, refused: refused},
		simRec{key: "*/b", value: del("*", "b")})
	for off := 4; off < len(log); off++ {
		whole.Apply(propRecord(log[off], int64(off)))
	}
	compacted := NewRegistry()
	for _, off := range compactSim(log) {
		compacted.Apply(propRecord(log[off], int64(off)))
	}
	for name, h := range map[string]*Registry{"whole": whole, "compacted": compacted} {
		if h.RetiredDropped() != 0 {
			t.Fatalf("the fold of the %s log forgot %d retirements", name, h.RetiredDropped())
		}
		if got, msg := h.Apply(Decode([]byte("*/a"), upsert("a", "*", 2, "$.y"), 0, int64(len(log)), at)); got != contract.ControlOK {
			t.Errorf("the fold of the %s log: version 2 of a after version 3 was refused for room: %s %q, want ok (what a fold of the compacted topic takes)", name, got, msg)
		}
	}
}
