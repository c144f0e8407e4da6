package controls

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// Tests written against mutants of the fold that the other tests let through: each
// fails with the mutant named and passes on the fold as it is.

// TestVersionedDeleteKeeperOfADaemonTheRuleIsTooLargeForKeepsItWhereItFits: version 1
// of c is deleted by a delete that names it, and version 3 of c, a rule past the
// --max-rule-bytes of one daemon, is published. That daemon refuses it and writes a
// delete Keeper carrying version 1 (what its delete retired); the daemon the rule fits
// applied version 3, and saw the delete of version 1 the Keeper keeps: it must keep
// version 3, as it keeps a rule a versionless delete Keeper follows
// (TestDeleteKeeperOfADaemonTheRuleIsTooLargeForKeepsItWhereItFits). A fold that took
// the delete of version 1 for one it never saw (unseen, "ret.version <= c.Version")
// restored the other daemon's view over version 3 and deleted it.
func TestVersionedDeleteKeeperOfADaemonTheRuleIsTooLargeForKeepsItWhereItFits(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	small := rule.DefaultLimits
	small.MaxRuleBytes = 250
	ds := []*simDaemon{{g: NewRegistry(), limits: small}, {g: NewRegistry(), limits: rule.DefaultLimits}}
	log := simTopic(t, ds, []simRec{
		{key: "*/c", value: upsert("c", "*", 1, "$.x")},
		{key: "*/c", value: delVersion("*", "c", 1)},
		{key: "*/c", value: upsert("c", "*", 3, "$.x"+strings.Repeat("y", 300))},
	}, 50)
	for i, r := range log {
		t.Logf("offset %d: %s after=%v depth=%d: %.80s", i, r.key, deref(r.after), r.depth, r.value)
	}
	if len(log) < 4 || string(log[3].value) != string(delVersion("*", "c", 1)) {
		t.Fatalf("the small daemon's Keeper of version 3 is not a delete of version 1: %d records", len(log))
	}
	k := rule.Key{Scope: "*", ID: "c"}
	if v, ok := ds[1].g.Version(k); !ok || v.Rule.Version != 3 || v.ControlOffset != 2 {
		t.Errorf("the daemon the rule fits holds %+v, want version 3 made at offset 2", v)
	}
	if _, ok := ds[0].g.Version(k); ok {
		t.Errorf("the daemon the rule is too large for holds it")
	}
}

// TestUpsertRefusedAtMaxRulesEndsTheGuardBeforeItsKeeperLands: under max_rules 2, b and
// c held, version 1 of a deleted by a delete that names it, version 3 of a refused for
// room. That refusal ends the delete's guard (its Keeper, the upsert marked, may be all
// compaction keeps of a, and a fold of it alone knows no delete), so version 2 of a,
// once b's delete made room, is taken, even before the Keeper lands. A fold whose
// max_rules refusal left the guard to the Keeper's refusal refused version 2 as an edit
// of the deleted version in between.
func TestUpsertRefusedAtMaxRulesEndsTheGuardBeforeItsKeeperLands(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	setLimits(t, 2, 1000)
	g := NewRegistry()
	applyInOrder(t, g, []foldStep{
		{"*/b", upsert("b", "*", 1, "$.x"), contract.ControlOK},
		{"*/c", upsert("c", "*", 1, "$.x"), contract.ControlOK},
		{"*/a", delVersion("*", "a", 1), contract.ControlNotFound},
		{"*/a", upsert("a", "*", 3, "$.x"), contract.ControlInvalid},
		{"*/b", del("*", "b"), contract.ControlOK},
		{"*/a", upsert("a", "*", 2, "$.y"), contract.ControlOK},
	})
	if v, ok := g.Version(rule.Key{Scope: "*", ID: "a"}); !ok || v.Rule.Version != 2 {
		t.Errorf("a: %+v, want version 2", v)
	}
}

// TestUpsertRefusedAtMaxRulesBytesEndsTheGuardBeforeItsKeeperLands is
// TestUpsertRefusedAtMaxRulesEndsTheGuardBeforeItsKeeperLands for max_rules_bytes: the
// bound holds b, or a, not both.
func TestUpsertRefusedAtMaxRulesBytesEndsTheGuardBeforeItsKeeperLands(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	size := func(control []byte) int {
		c, err := rule.ParseControl(control)
		if err != nil {
			t.Fatal(err)
		}
		_, n := fingerprintSize(c.Rule)
		return n
	}
	lim := rule.CurrentLimits()
	lim.MaxRulesBytes = size(upsert("b", "*", 1, "$.x")) + size(upsert("a", "*", 3, "$.x")) - 1
	lim.MaxRuleBytes = lim.MaxRulesBytes
	if err := rule.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	applyInOrder(t, g, []foldStep{
		{"*/b", upsert("b", "*", 1, "$.x"), contract.ControlOK},
		{"*/a", delVersion("*", "a", 1), contract.ControlNotFound},
		{"*/a", upsert("a", "*", 3, "$.x"), contract.ControlInvalid},
		{"*/b", del("*", "b"), contract.ControlOK},
		{"*/a", upsert("a", "*", 2, "$.y"), contract.ControlOK},
	})
	if v, ok := g.Version(rule.Key{Scope: "*", ID: "a"}); !ok || v.Rule.Version != 2 {
		t.Errorf("a: %+v, want version 2", v)
	}
}

// TestKeptRefusalAfterADeleteKeeperEndsItsGuard: two daemons under max_rules 2, b and c
// held; version 1 of a is deleted by a delete that names it, then version 3 of a is
// published, a rule past one daemon's --max-rule-bytes. That daemon refuses it as
// invalid and writes a delete Keeper of version 1 (its guard kept); the other refuses
// it for room (ending the guard) and writes the upsert marked (max_rules=2), which
// lands last and is what compaction keeps of a. The second daemon folds the delete
// Keeper (the guard again) and then its marked Keeper, refused as it was: that refusal
// must end the guard as the refusal it keeps did, or, once b is deleted, its fold of
// the whole log refuses version 2 of a as an edit of the deleted version while a
// restart's fold of the compacted topic (the marked Keeper alone of a) takes it. (The
// first daemon, to which the marked Keeper is as invalid as the upsert, keeps its
// guard: processes under different limits fold a key each its own way.)
func TestKeptRefusalAfterADeleteKeeperEndsItsGuard(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	room := rule.DefaultLimits
	room.MaxRules = 2
	small := room
	small.MaxRuleBytes = 250
	ds := []*simDaemon{{g: NewRegistry(), limits: small}, {g: NewRegistry(), limits: room}}
	log := simTopic(t, ds, []simRec{
		{key: "*/b", value: upsert("b", "*", 1, "$.x")},
		{key: "*/c", value: upsert("c", "*", 1, "$.x")},
		{key: "*/a", value: delVersion("*", "a", 1)},
		{key: "*/a", value: upsert("a", "*", 3, "$.x"+strings.Repeat("y", 300))},
	}, 50)
	for i, r := range log {
		t.Logf("offset %d: %s after=%v depth=%d refused=%v: %.80s", i, r.key, deref(r.after), r.depth, r.refused, r.value)
	}
	if len(log) != 6 || log[4].refused != nil || log[5].refused == nil {
		t.Fatalf("want the small daemon's delete Keeper and then the other's marked upsert: %d records", len(log))
	}
	compacted := compactSim(log)
	d := ds[1] // the daemon that refused the upsert for room
	for name, g := range map[string]*Registry{"whole": d.g, "compacted": propFold(t, log, compacted, d.limits)} {
		setPropLimits(t, d.limits)
		if got, msg := g.Apply(propRecord(simRec{key: "*/b", value: del("*", "b")}, int64(len(log)))); got != contract.ControlOK {
			t.Fatalf("the daemon that refused a for room, %s log: the delete of b: %s %q", name, got, msg)
		}
		if got, msg := g.Apply(propRecord(simRec{key: "*/a", value: upsert("a", "*", 2, "$.y")}, int64(len(log)+1))); got != contract.ControlOK {
			t.Errorf("the daemon that refused a for room, %s log: version 2 of a once b's delete made room: %s %q, want ok", name, got, msg)
		}
	}
}

// TestStaleEditNamesTheNewestDeleteOfItsVersion: version 1 of a is deleted twice (a
// delete retried), then an edit of version 1 lands. It is refused naming the second
// delete, the one compaction keeps: a restart's fold of the compacted topic names it so
// too, and so the status of the edit reads the same whichever process answers it. A
// fold that kept the first delete's offset named offset 0, gone after compaction.
func TestStaleEditNamesTheNewestDeleteOfItsVersion(t *testing.T) {
	log := []simRec{
		{key: "*/a", value: delVersion("*", "a", 1)},
		{key: "*/a", value: delVersion("*", "a", 1)},
	}
	edit := simRec{key: "*/a", value: upsert("a", "*", 2, "$.y")}
	for name, offs := range map[string][]int{"whole": {0, 1}, "compacted": compactSim(log)} {
		g := NewRegistry()
		for _, off := range offs {
			if got, msg := g.Apply(propRecord(log[off], int64(off))); got != contract.ControlNotFound {
				t.Fatalf("%s log, offset %d: %s %q, want not_found", name, off, got, msg)
			}
		}
		got, msg := g.Apply(propRecord(edit, 2))
		if want := "rule */a was deleted at offset 1 by a delete of version 1: version 2, not above 2"; got != contract.ControlStale || !strings.Contains(msg, want) {
			t.Errorf("%s log: the edit of version 1: %s %q, want stale saying %q", name, got, msg, want)
		}
	}
}

// TestDeleteKeeperRestoringNothingFreesTheRulesBytes: compaction stopped between an edit
// of a deleted version and its Keeper, and removed the delete: a fold of what it kept
// applies the edit, then the Keeper (a delete carrying the version deleted) restores
// what the whole log's fold holds, nothing. The rule's JSON no longer counts against
// max_rules_bytes: a fold that kept counting it held bytes of no rule, and refused
// rules for room no rule took.
func TestDeleteKeeperRestoringNothingFreesTheRulesBytes(t *testing.T) {
	log := []simRec{
		{key: "*/a", value: upsert("a", "*", 1, "$.x")},
		{key: "*/a", value: delVersion("*", "a", 1)},
		{key: "*/a", value: upsert("a", "*", 2, "$.y")},
		{key: "*/a", value: delVersion("*", "a", 1), keeps: &Origin{Offset: 2, Time: time.Unix(2, 0).UTC()}, after: new(int64(2)), depth: 1},
	}
	g := NewRegistry()
	if got, msg := g.Apply(propRecord(log[2], 2)); got != contract.ControlOK {
		t.Fatalf("the edit, its delete compacted away: %s %q, want ok", got, msg)
	}
	if g.ActiveBytes() == 0 {
		t.Fatalf("the edit applied counts no bytes")
	}
	if got, msg := g.Apply(propRecord(log[3], 3)); got != contract.ControlOK || msg != "" {
		t.Fatalf("the Keeper of the edit: %s %q, want ok, deleting it", got, msg)
	}
	if n, b := g.Len(), g.ActiveBytes(); n != 0 || b != 0 {
		t.Errorf("after the Keeper restored nothing: %d rules, %d bytes of JSON; want 0 and 0", n, b)
	}
}

// TestStaleDeleteIsTheRulesLastError: version 3 of a is active and a delete of version
// 2 lands (its publisher never saw version 3): nothing is deleted, and the rule's
// listing says why, as it does for a stale upsert, so whoever meant to delete the rule
// sees from the listing that it still runs and what to do.
func TestStaleDeleteIsTheRulesLastError(t *testing.T) {
	g := NewRegistry()
	applyInOrder(t, g, []foldStep{
		{"*/a", upsert("a", "*", 3, "$.x"), contract.ControlOK},
		{"*/a", delVersion("*", "a", 2), contract.ControlStale},
	})
	rs := g.Rules()
	if want := "control at offset 1: version 3 of rule */a is active (made at offset 0), newer than version 2 this delete was for; not deleted (delete it again to delete version 3)"; len(rs) != 1 || rs[0].Version != 3 || rs[0].LastError != want {
		t.Errorf("rules %+v, want version 3 with last error %q", rs, want)
	}
}

// TestRecordTimesJustOutsideRFC3339YearsAreTakenAtTheBound: the first millisecond of
// the year 10000, and the last before the year 0, are outside what JSON writes as much
// as the year 12000 is: taken at the bound, and the bounds themselves as they are.
func TestRecordTimesJustOutsideRFC3339YearsAreTakenAtTheBound(t *testing.T) {
	last := time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	first := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct{ in, want time.Time }{
		{last, last},
		{last.Add(time.Millisecond), last},
		{first, first},
		{first.Add(-time.Millisecond), first},
	} {
		got := RecordTime(c.in)
		if !got.Equal(c.want) {
			t.Errorf("RecordTime(%s) = %s, want %s", c.in, got, c.want)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("RecordTime(%s) = %s, which JSON cannot write: %v", c.in, got, err)
		}
	}
}

// TestARecordMarkedRefusedForRoomIsAKeeper: a record carrying hindsight.refused_at is a
// Keeper (only Keepers are marked), whatever its other headers say (one not an offset
// reads as none): invalid to this fold, it keeps nothing and gets no Keeper of its own,
// as any invalid Keeper.
func TestARecordMarkedRefusedForRoomIsAKeeper(t *testing.T) {
	rec := Decode([]byte("*/a"), []byte("not json"), 0, 5, time.Unix(5, 0))
	rec.RefusedAt = &RefusedAt{Limit: rule.LimitRules, Value: 2}
	if !rec.IsKeeper() {
		t.Errorf("a record marked refused for room is not a Keeper")
	}
	st, msg := NewRegistry().Apply(rec)
	if st != contract.ControlInvalid || NeedsKeeper(rec, st, msg) {
		t.Errorf("an invalid marked record: %s %q, needs a Keeper %v; want invalid needing none", st, msg, NeedsKeeper(rec, st, msg))
	}
}

// foldStep is a control record applied at its index's offset and the status its fold
// must give.
type foldStep struct {
	key   string
	value []byte
	want  string
}

// applyInOrder folds steps into g at offsets 0, 1, ..., failing at the first whose
// status is not its want.
func applyInOrder(t *testing.T, g *Registry, steps []foldStep) {
	t.Helper()
	for off, s := range steps {
		if got, msg := g.Apply(propRecord(simRec{key: s.key, value: s.value}, int64(off))); got != s.want {
			t.Fatalf("offset %d, %s %s: %s %q, want %s", off, s.key, s.value, got, msg, s.want)
		}
	}
}
