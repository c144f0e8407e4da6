package controls

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRulesFillingMaxRulesBytesExactlyFit: max_rules_bytes is the most JSON the active
// rules hold together, so rules that add up to exactly it are all applied, and one byte
// more is refused.
func TestRulesFillingMaxRulesBytesExactlyFit(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	probe := NewRegistry()
	if got, msg := probe.Apply(Decode([]byte("*/a"), upsert("a", "*", 1, "$.x"), 0, 0, time.Time{})); got != contract.ControlOK {
		t.Fatalf("*/a: %s %s", got, msg)
	}
	one := probe.ActiveBytes()
	l := rule.DefaultLimits
	l.MaxRuleBytes, l.MaxRulesBytes = int(one), int(3*one)
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	for i, id := range []string{"a", "b", "c"} { // ids of one length: rules of one size
		if got, msg := g.Apply(Decode([]byte("*/"+id), upsert(id, "*", 1, "$.x"), 0, int64(i), time.Time{})); got != contract.ControlOK {
			t.Fatalf("rule %s, taking the active rules to %d bytes of max_rules_bytes %d: %s %q", id, int64(i+1)*one, l.MaxRulesBytes, got, msg)
		}
	}
	if got, msg := g.Apply(Decode([]byte("*/d"), upsert("d", "*", 1, "$.x"), 0, 3, time.Time{})); got != contract.ControlInvalid || !strings.Contains(msg, "max_rules_bytes") {
		t.Errorf("a fourth rule past max_rules_bytes %d: %s %q, want invalid naming the limit", l.MaxRulesBytes, got, msg)
	}
}

// TestEndedVersionsHeldAreMaxEndedVersions: a fold remembers the newest
// max_ended_versions ended versions of a rule (one that resolves its incidents) and
// counts the ones it forgets.
func TestEndedVersionsHeldAreMaxEndedVersions(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.DefaultLimits
	l.MaxEndedVersions = 2
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	for v := int64(1); v <= 4; v++ { // versions 1..3 end, replaced at offsets 2..4
		resolving := fmt.Appendf(nil, `{"op":"upsert","rule":{"id":"a","scope":"*","version":%d,"threshold":1,"when":{"path":"$.x"},
		  "window":{"size":"1m"},"alert":{"resolve":true}}}`, v)
		if got, msg := g.Apply(Decode([]byte("*/a"), resolving, 0, v, time.Time{})); got != contract.ControlOK {
			t.Fatalf("version %d: %s %s", v, got, msg)
		}
	}
	var held []int64
	for _, v := range g.EndedAfter(0) {
		held = append(held, v.Rule.Version)
	}
	if fmt.Sprint(held) != "[2 3]" || g.EndedDropped() != 1 {
		t.Errorf("ended versions held %v, %d forgotten; want [2 3], 1 (max_ended_versions 2, versions 1..3 ended)", held, g.EndedDropped())
	}
}

// TestParseRefusedAtRefusesANegativeValue: no limit of room has a negative value, and
// a header saying one is not a mark a fold can compare with its own limit.
func TestParseRefusedAtRefusesANegativeValue(t *testing.T) {
	if at, ok := ParseRefusedAt("max_rules=-1"); ok {
		t.Errorf("ParseRefusedAt(%q) = %+v, true; want false", "max_rules=-1", at)
	}
	if at, ok := ParseRefusedAt("max_rules=0"); !ok || at.Limit != rule.LimitRules || at.Value != 0 {
		t.Errorf("ParseRefusedAt(%q) = %+v, %v; want max_rules 0, true", "max_rules=0", at, ok)
	}
}

// TestProblemsFillingTheBudgetExactlyAreAllListed: a status lists problems while they
// fit MaxMessageBytes together; ones that fill it exactly all fit, with no "more not
// listed" in place of the last.
func TestProblemsFillingTheBudgetExactlyAreAllListed(t *testing.T) {
	const n = 4
	field := strings.Repeat("f", 1000)
	msg := strings.Repeat("m", MaxMessageBytes/n-len(field)-problemBytes)
	ps := make([]rule.Problem, n)
	for i := range ps {
		ps[i] = rule.Problem{Field: field, Msg: msg}
	}
	got := boundProblems(ps)
	if len(got) != n || got[n-1].Msg != msg {
		t.Errorf("%d problems of %d bytes each (with %d counted for each), filling %d exactly: listed %d, the last %.60q", n, len(field)+len(msg), problemBytes, MaxMessageBytes, len(got), got[len(got)-1].Msg)
	}
	if got := boundProblems(append(ps, rule.Problem{Field: "x"})); len(got) != n+1 || got[n].Field != "problems" {
		t.Errorf("one more problem past the budget: listed %d, want %d then one saying 1 more", len(got), n)
	}
}

// TestKeeperAfterTheControlThatLastChangedItsKeyApplies: a Keeper written after the
// control at offset a, from what its key held then, is stale only if a control of its
// key changed it after a; the control at a itself is what the Keeper's writer folded
// too. A daemon of max_rules 1 refused */b, which this fold of max_rules 2 applied, and
// its Keeper (the upsert marked max_rules=1) is no change here, not stale.
func TestKeeperAfterTheControlThatLastChangedItsKeyApplies(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	at := time.Unix(10, 0).UTC()
	a := Decode([]byte("*/a"), upsert("a", "*", 1, "$.x"), 0, 0, at)
	b := Decode([]byte("*/b"), upsert("b", "*", 1, "$.x"), 0, 1, at)
	setLimits(t, 1, 1000)
	small := NewRegistry()
	small.Apply(a)
	status, _, room := small.ApplyRoom(b)
	if status != contract.ControlInvalid || room == nil {
		t.Fatalf("*/b past max_rules 1: %s, room %v", status, room)
	}
	c, keeps, mark := small.Keeper(b, room)
	val, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	k := Decode([]byte("*/b"), val, 0, 2, at)
	after := int64(1)
	k.Keeps, k.KeeperAfter, k.KeeperDepth, k.RefusedAt = keeps, &after, 1, mark

	setLimits(t, 2, 1000)
	g := NewRegistry()
	for _, rec := range []Record{a, b} {
		if got, msg := g.Apply(rec); got != contract.ControlOK {
			t.Fatalf("%s under max_rules 2: %s %s", rec.Key, got, msg)
		}
	}
	if got, msg := g.Apply(k); got != contract.ControlOK || msg != Unchanged {
		t.Errorf("the Keeper of */b written after offset 1, the control that last changed */b here: %s %q; want %s %q", got, msg, contract.ControlOK, Unchanged)
	}
}

// TestParseOriginRefusesANegativeOffset: an Origin names the offset of an upsert, which
// is never negative; a header saying one is not an identity a snapshot's version can
// match, and is taken for no Origin.
func TestParseOriginRefusesANegativeOffset(t *testing.T) {
	if o, ok := ParseOrigin("-1@1000"); ok {
		t.Errorf("ParseOrigin(%q) = %+v, true; want false", "-1@1000", o)
	}
	if o, ok := ParseOrigin("0@1000"); !ok || o.Offset != 0 || o.Time.UnixMilli() != 1000 {
		t.Errorf("ParseOrigin(%q) = %+v, %v; want offset 0 at 1000 ms, true", "0@1000", o, ok)
	}
}

// TestStatusOfAVersionedDeleteSaysTheVersion: the status of a delete that names the
// version it deletes carries that version, as an upsert's carries its rule's: whoever
// reads the status sees which version the delete was for.
func TestStatusOfAVersionedDeleteSaysTheVersion(t *testing.T) {
	rec := Decode([]byte("*/a"), []byte(`{"op":"delete","scope":"*","id":"a","version":7}`), 0, 3, time.Unix(3, 0))
	if rec.Err != nil {
		t.Fatal(rec.Err)
	}
	s := rec.Status(contract.ControlOK, "", time.Unix(4, 0))
	if s.Op != rule.OpDelete || s.Scope != "*" || s.ID != "a" || s.Version != 7 {
		t.Errorf("status %+v, want a delete of */a at version 7", s)
	}
}

// TestEachProblemIsCutToAQuarterOfTheBudget: one problem's message is cut to
// MaxMessageBytes/4, so that one long problem leaves room for others after it.
func TestEachProblemIsCutToAQuarterOfTheBudget(t *testing.T) {
	long := strings.Repeat("m", MaxMessageBytes/2)
	got := boundProblems([]rule.Problem{{Field: "a", Msg: long}, {Field: "b", Msg: "short"}})
	if len(got) != 2 || got[1].Msg != "short" {
		t.Fatalf("problems listed %d, want both", len(got))
	}
	if want := fmt.Sprintf("… (%d bytes)", len(long)); !strings.HasPrefix(got[0].Msg, long[:MaxMessageBytes/4]) || !strings.HasSuffix(got[0].Msg, want) || len(got[0].Msg) != MaxMessageBytes/4+len(want) {
		t.Errorf("a problem of %d bytes listed as %d bytes ending %q; want its first %d and %q", len(long), len(got[0].Msg), got[0].Msg[len(got[0].Msg)-20:], MaxMessageBytes/4, want)
	}
}
