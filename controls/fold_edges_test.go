package controls

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// foldSteps folds (key, value) pairs at offsets 1, 2, … and returns the registry with
// each step's outcome and message.
func foldSteps(t *testing.T, steps ...[2]string) (*Registry, []string, []string) {
	t.Helper()
	g := NewRegistry()
	var outcomes, msgs []string
	for i, s := range steps {
		var value []byte
		if s[1] != "" {
			value = []byte(s[1])
		}
		o, m := g.Apply(Decode([]byte(s[0]), value, 0, int64(i+1), time.Unix(int64(i+1), 0)))
		outcomes, msgs = append(outcomes, o), append(msgs, m)
	}
	return g, outcomes, msgs
}

// TestInvalidKeeperBehindANewerControlIsInvalidNotStale: a Keeper whose control does
// not validate here (written by a process of laxer limits) keeps nothing and is not
// kept, whatever controls of its key came after the record it follows: it is rejected
// and listed, and wants no Keeper of its own. Judged stale instead (the KeeperAfter
// check before the record's validity), it was not listed among the rejected controls
// and NeedsKeeper asked for a Keeper of it.
func TestInvalidKeeperBehindANewerControlIsInvalidNotStale(t *testing.T) {
	g, outcomes, msgs := foldSteps(t,
		[2]string{"*/a", string(upsert("a", "*", 1, "$.x"))},
		[2]string{"*/a", string(del("*", "a"))},
	)
	if outcomes[0] != contract.ControlOK || outcomes[1] != contract.ControlOK {
		t.Fatalf("upsert then delete: %v %q", outcomes, msgs)
	}
	after := int64(1)
	rec := Decode([]byte("*/a"), upsert("a", "*", 1, "$.x["), 0, 3, time.Unix(3, 0))
	rec.KeeperAfter, rec.KeeperDepth = &after, 1
	if rec.Err == nil {
		t.Fatal("the Keeper's control decoded valid; the test needs an invalid one")
	}
	status, msg := g.Apply(rec)
	if status != contract.ControlInvalid {
		t.Fatalf("an invalid Keeper behind a newer delete: %s %q, want %s", status, msg, contract.ControlInvalid)
	}
	if rej := g.Rejected(); len(rej) != 1 || rej[0].Offset != 3 {
		t.Fatalf("rejected controls %+v, want the Keeper at offset 3", rej)
	}
	if NeedsKeeper(rec, status, msg) {
		t.Fatal("an invalid Keeper asks for a Keeper of its own")
	}
}

// TestLowerVersionAfterARuleMadeAgainIsStaleBehindTheActiveOne: a rule deleted at
// version 1 and made again at 3; an upsert of version 2 is stale behind the active
// version 3, and the rule's view says so (its last error). Refused as an edit begun
// before the delete instead, it left the view without a last error and advised a
// version the active one already passed.
func TestLowerVersionAfterARuleMadeAgainIsStaleBehindTheActiveOne(t *testing.T) {
	g, outcomes, msgs := foldSteps(t,
		[2]string{"*/a", string(upsert("a", "*", 1, "$.x"))},
		[2]string{"*/a", string(delVersion("*", "a", 1))},
		[2]string{"*/a", string(upsert("a", "*", 3, "$.y"))},
		[2]string{"*/a", string(upsert("a", "*", 2, "$.z"))},
	)
	want := []string{contract.ControlOK, contract.ControlOK, contract.ControlOK, contract.ControlStale}
	for i := range want {
		if outcomes[i] != want[i] {
			t.Fatalf("step %d: %s %q, want %s", i+1, outcomes[i], msgs[i], want[i])
		}
	}
	if !strings.Contains(msgs[3], "not newer than the active version 3") {
		t.Errorf("the lower version's message %q, want it stale behind the active version 3", msgs[3])
	}
	rs := g.Rules()
	if len(rs) != 1 || rs[0].Version != 3 || !strings.Contains(rs[0].LastError, "control at offset 4: version 2 is not newer than the active version 3") {
		t.Fatalf("rules %+v, want version 3 active with the last error of offset 4", rs)
	}
}

// TestDeleteOfTheDeletedVersionAgainIsNotFound: a delete of version 5, folded again
// (`rules delete` run twice) once the key holds nothing, finds nothing: not_found, and
// no Keeper. Only a delete of an older version than the one deleted is stale.
func TestDeleteOfTheDeletedVersionAgainIsNotFound(t *testing.T) {
	g, outcomes, msgs := foldSteps(t,
		[2]string{"*/a", string(upsert("a", "*", 5, "$.x"))},
		[2]string{"*/a", string(delVersion("*", "a", 5))},
		[2]string{"*/a", string(delVersion("*", "a", 5))},
		[2]string{"*/a", string(delVersion("*", "a", 4))},
	)
	want := []string{contract.ControlOK, contract.ControlOK, contract.ControlNotFound, contract.ControlStale}
	for i := range want {
		if outcomes[i] != want[i] {
			t.Fatalf("step %d: %s %q, want %s", i+1, outcomes[i], msgs[i], want[i])
		}
	}
	if v, ok := g.Retired(rule.Key{Scope: "*", ID: "a"}); !ok || v != 6 {
		t.Fatalf("Retired %d %v, want 6 (version 5 deleted)", v, ok)
	}
}

// TestKeeperFollowingItsControlWithinTwiceTheLimitsApplies: the fold remembers the
// last changes of twice as many keys as rules, destinations and mutes may be held at
// once (changedLimit), so a Keeper following its control after fewer changes of other
// keys than that is judged against its own key's change and applies, no change.
// Remembering once as many, the Keeper's key was forgotten and the Keeper taken for
// stale behind the newest change forgotten.
func TestKeeperFollowingItsControlWithinTwiceTheLimitsApplies(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxRules, lim.MaxDestinations, lim.MaxMutes = 1, 1, 1 // remembers 6 keys
	if err := rule.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	defer rule.SetLimits(rule.DefaultLimits)
	steps := [][2]string{{"*/a", string(upsert("a", "*", 1, "$.x"))}}
	for _, id := range []string{"b", "c", "d", "e"} { // each not_found: a change all the same
		steps = append(steps, [2]string{"*/" + id, string(del("*", id))})
	}
	g, outcomes, msgs := foldSteps(t, steps...)
	for i, want := range []string{contract.ControlOK, contract.ControlNotFound, contract.ControlNotFound, contract.ControlNotFound, contract.ControlNotFound} {
		if outcomes[i] != want {
			t.Fatalf("step %d: %s %q, want %s", i+1, outcomes[i], msgs[i], want)
		}
	}
	after := int64(1)
	rec := Decode([]byte("*/a"), upsert("a", "*", 1, "$.x"), 0, 6, time.Unix(6, 0))
	rec.Keeps, rec.KeeperAfter, rec.KeeperDepth = &Origin{Offset: 1, Time: time.Unix(1, 0)}, &after, 1
	if status, msg := g.Apply(rec); status != contract.ControlOK || msg != Unchanged {
		t.Fatalf("the Keeper of */a after 4 changes of other keys, 6 remembered: %s %q, want ok, unchanged", status, msg)
	}
}

// TestMarkedKeeperOfAKeyThatHoldsItsVersionIsNoChange: the Keeper of an upsert refused
// for room (marked with the limit) is refused as it was only where its key holds
// nothing; where the key holds the very version it carries (a fold that had room for
// it), it is that version again: no change, under any limit.
func TestMarkedKeeperOfAKeyThatHoldsItsVersionIsNoChange(t *testing.T) {
	lim := rule.DefaultLimits
	lim.MaxRules = 1
	if err := rule.SetLimits(lim); err != nil {
		t.Fatal(err)
	}
	defer rule.SetLimits(rule.DefaultLimits)
	g, outcomes, msgs := foldSteps(t, [2]string{"*/b", string(upsert("b", "*", 1, "$.x"))})
	if outcomes[0] != contract.ControlOK {
		t.Fatalf("*/b: %s %q", outcomes[0], msgs[0])
	}
	rec := Decode([]byte("*/b"), upsert("b", "*", 1, "$.x"), 0, 2, time.Unix(2, 0))
	rec.Keeps, rec.RefusedAt, rec.KeeperDepth = &Origin{Offset: 1, Time: time.Unix(1, 0)}, &RefusedAt{Limit: rule.LimitRules, Value: 1}, 1
	if status, msg := g.Apply(rec); status != contract.ControlOK || msg != Unchanged {
		t.Fatalf("a Keeper marked max_rules=1 of the version */b holds, under max_rules 1: %s %q, want ok, unchanged", status, msg)
	}
	if v, ok := g.Version(rule.Key{Scope: "*", ID: "b"}); !ok || v.ControlOffset != 1 {
		t.Fatalf("*/b after its marked Keeper: %v %+v, want the version made at offset 1", ok, v)
	}
}

// TestUnchangedNeedsAKeeperOnlyAsAPublishedRuleUpsert: an upsert of what its key holds
// already needs a Keeper only when it is a rule's upsert published again (left the
// newest, it would name the version by its own offset once compaction removed the
// first). A Keeper folding as no change is the key's newest record as it should be, and
// a destination or mute has no version to name: answered, each would write one more
// record, and Keepers answering Keepers would run to MaxKeeperDepth.
func TestUnchangedNeedsAKeeperOnlyAsAPublishedRuleUpsert(t *testing.T) {
	dest := []byte(`{"op":"upsert","destination":{"scope":"*","name":"ops","type":"webhook","url":"http://127.0.0.1:1/h"}}`)
	g, outcomes, msgs := foldSteps(t,
		[2]string{"*/a", string(upsert("a", "*", 1, "$.x"))},
		[2]string{"destination:*/ops", string(dest)},
	)
	if outcomes[0] != contract.ControlOK || outcomes[1] != contract.ControlOK {
		t.Fatalf("rule and destination: %v %q", outcomes, msgs)
	}
	after := int64(2)
	keeper := Decode([]byte("*/a"), upsert("a", "*", 1, "$.x"), 0, 3, time.Unix(3, 0))
	keeper.Keeps, keeper.KeeperAfter, keeper.KeeperDepth = &Origin{Offset: 1, Time: time.Unix(1, 0)}, &after, 1
	again := Decode([]byte("destination:*/ops"), dest, 0, 4, time.Unix(4, 0))
	published := Decode([]byte("*/a"), upsert("a", "*", 1, "$.x"), 0, 5, time.Unix(5, 0))
	for _, c := range []struct {
		name string
		rec  Record
		want bool
	}{
		{"the rule's Keeper", keeper, false},
		{"the destination published again", again, false},
		{"the rule published again", published, true},
	} {
		status, msg := g.Apply(c.rec)
		if status != contract.ControlOK || msg != Unchanged {
			t.Fatalf("%s: %s %q, want ok, unchanged", c.name, status, msg)
		}
		if got := NeedsKeeper(c.rec, status, msg); got != c.want {
			t.Errorf("%s folding as no change: NeedsKeeper %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLastErrorsAreHeldForActiveRulesOnly: a rule's last error goes with its version:
// a new version starts without one, and a rule deleted, or a key that holds no rule,
// holds none, so that invalid controls of ever new keys cannot grow the fold.
func TestLastErrorsAreHeldForActiveRulesOnly(t *testing.T) {
	steps := [][2]string{
		{"*/a", string(upsert("a", "*", 1, "$.x"))},
		{"*/a", string(upsert("a", "*", 2, "$.x["))}, // invalid: a's last error
	}
	g, outcomes, _ := foldSteps(t, steps...)
	if outcomes[1] != contract.ControlInvalid {
		t.Fatalf("the invalid upsert: %s", outcomes[1])
	}
	if rs := g.Rules(); len(rs) != 1 || !strings.Contains(rs[0].LastError, "control at offset 2 rejected") {
		t.Fatalf("rules %+v, want */a with the last error of offset 2", rs)
	}
	off := int64(2)
	apply := func(key string, value []byte) {
		off++
		g.Apply(Decode([]byte(key), value, 0, off, time.Unix(off, 0)))
	}
	apply("*/a", upsert("a", "*", 3, "$.y"))
	if rs := g.Rules(); len(rs) != 1 || rs[0].Version != 3 || rs[0].LastError != "" {
		t.Fatalf("rules %+v, want */a at version 3 without a last error", rs)
	}
	apply("*/a", upsert("a", "*", 4, "$.y["))
	apply("*/a", del("*", "a"))
	for i := range 50 {
		apply("*/gone-"+strings.Repeat("x", i), upsert("gone", "*", 1, "$.x["))
	}
	g.mu.Lock()
	held := len(g.lastError)
	g.mu.Unlock()
	if held != 0 {
		t.Fatalf("%d last errors held with no rule active, want 0", held)
	}
}

// TestKeeperStaleBehindAKeeperIsCappedAtMaxKeeperDepth: a Keeper stale because a
// Keeper, not a published control, changed its key since is not answered at
// MaxKeeperDepth: two processes' Keepers would otherwise answer each other without
// end. The change a Keeper makes is remembered as a Keeper's.
func TestKeeperStaleBehindAKeeperIsCappedAtMaxKeeperDepth(t *testing.T) {
	g := NewRegistry()
	after := int64(4)
	k1 := Decode([]byte("*/a"), upsert("a", "*", 1, "$.x"), 0, 5, time.Unix(5, 0))
	k1.Keeps, k1.KeeperAfter, k1.KeeperDepth = &Origin{Offset: 1, Time: time.Unix(1, 0)}, &after, 1
	if status, msg := g.Apply(k1); status != contract.ControlOK || msg == Unchanged {
		t.Fatalf("a Keeper of */a on a fold that holds nothing of it (its upsert compacted away): %s %q, want ok, applied", status, msg)
	}
	k2 := Decode([]byte("*/a"), del("*", "a"), 0, 6, time.Unix(6, 0))
	k2.Keeps, k2.KeeperAfter, k2.KeeperDepth = &Origin{Offset: 4, Time: time.Unix(4, 0)}, &after, MaxKeeperDepth
	status, msg := g.Apply(k2)
	if status != contract.ControlStale || strings.HasPrefix(msg, staleByControl) {
		t.Fatalf("a Keeper written after offset 4, behind the Keeper at 5: %s %q, want stale behind a Keeper", status, msg)
	}
	if NeedsKeeper(k2, status, msg) {
		t.Fatalf("a Keeper at depth %d stale behind a Keeper is answered", MaxKeeperDepth)
	}
}
