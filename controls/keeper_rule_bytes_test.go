package controls

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDeleteKeeperOfADaemonTheRuleIsTooLargeForKeepsItWhereItFits: two daemons run
// with different --max-rule-bytes (one raised first, as a rolling change of the limit
// does). A rule larger than the lower limit is saved: the daemon under it finds the
// upsert invalid and, its key holding nothing, writes a delete Keeper without a
// version. The daemon the rule fits applied the upsert; the delete Keeper follows the
// very change that made its rule, and keeps nothing it did not see (it saw the key hold
// nothing before): it must keep the rule it runs and answer with the rule's Keeper, so
// that compaction keeps the rule for every start under limits that allow it. It took
// the delete Keeper for a restore of what compaction removed and dropped the rule,
// silently (a delete Keeper that changes nothing is not reported), for good.
// Not parallel: it sets the process's rule limits.
func TestDeleteKeeperOfADaemonTheRuleIsTooLargeForKeepsItWhereItFits(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	small := rule.DefaultLimits
	small.MaxRuleBytes = 250
	ds := []*simDaemon{{g: NewRegistry(), limits: small}, {g: NewRegistry(), limits: rule.DefaultLimits}}
	log := simTopic(t, ds, []simRec{{key: "*/c", value: upsert("c", "*", 1, "$.x"+strings.Repeat("y", 300))}}, 50)
	for i, r := range log {
		t.Logf("offset %d: %s after=%v depth=%d: %.80s", i, r.key, deref(r.after), r.depth, r.value)
	}
	setPropLimits(t, rule.DefaultLimits)
	k := rule.Key{Scope: "*", ID: "c"}
	if v, ok := ds[1].g.Version(k); !ok || v.Rule.Version != 1 || v.ControlOffset != 0 {
		t.Errorf("the daemon the rule fits holds %+v, want version 1 made at offset 0", v)
	}
	// What compaction keeps (the newest record of the key) is the rule, for a start
	// under the higher limit, named as the daemon that ran through names it.
	if v, ok := propFold(t, log, compactedAt(log, len(log), true), rule.DefaultLimits).Version(k); !ok || v.Rule.Version != 1 || v.ControlOffset != 0 {
		t.Errorf("a start under the higher limit, of the compacted topic, holds %+v, want version 1 made at offset 0", v)
	}
}

// TestDeleteKeeperRightAfterTheUpsertItDidNotApplySaysSo: the daemon a rule fits folds
// the delete Keeper a daemon under a lower --max-rule-bytes wrote right after the
// rule's upsert (TestDeleteKeeperOfADaemonTheRuleIsTooLargeForKeepsItWhereItFits) and
// logs why it deleted nothing. It said the Keeper was "written before it was given
// something": it was written after the very upsert that gave the key its rule, by a
// process that did not apply it, which is what the operator must look for.
func TestDeleteKeeperRightAfterTheUpsertItDidNotApplySaysSo(t *testing.T) {
	g := NewRegistry()
	if got, msg := g.Apply(propRecord(simRec{key: "*/c", value: upsert("c", "*", 1, "$.x")}, 0)); got != contract.ControlOK {
		t.Fatalf("the upsert: %s %q", got, msg)
	}
	keeper := propRecord(simRec{key: "*/c", value: del("*", "c"), keeps: &Origin{Offset: 0, Time: time.Unix(0, 0).UTC()}, after: new(int64(0)), depth: 1}, 1)
	got, msg := g.Apply(keeper)
	if got != contract.ControlStale {
		t.Fatalf("the delete Keeper: %s %q, want stale", got, msg)
	}
	if want := "written after the control at offset 0 that gave it what it holds, by a process whose fold did not apply that control"; !strings.Contains(msg, want) || strings.Contains(msg, "written before") {
		t.Errorf("the delete Keeper's message: %q, want it to say %q", msg, want)
	}
	if _, ok := g.Version(rule.Key{Scope: "*", ID: "c"}); !ok {
		t.Errorf("the rule was deleted")
	}
}

// TestDeleteKeeperOfAKeyForgottenRestoresNothing: the delete Keeper a daemon under a
// lower --max-rule-bytes writes after an upsert it found invalid lands once the daemon
// the rule fits has forgotten the key's changes (more than changedLimit other keys
// changed since). changedAt answers a forgotten key with a Keeper's change (for
// MaxKeeperDepth), which is no change a Keeper made: the delete Keeper, a delete of
// none, was taken for a restore and deleted the rule it runs. It must delete nothing,
// as when the key is remembered
// (TestDeleteKeeperOfADaemonTheRuleIsTooLargeForKeepsItWhereItFits). Not parallel: it
// sets the process's rule limits.
func TestDeleteKeeperOfAKeyForgottenRestoresNothing(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.DefaultLimits
	l.MaxRules, l.MaxDestinations, l.MaxMutes = 2, 1, 1
	setPropLimits(t, l)
	g := NewRegistry()
	if got, msg := g.Apply(propRecord(simRec{key: "*/c", value: upsert("c", "*", 1, "$.x")}, 0)); got != contract.ControlOK {
		t.Fatalf("the upsert: %s %q", got, msg)
	}
	// Deletes of keys that hold nothing change them (not_found): */c is forgotten, the
	// newest change forgotten its upsert at offset 0.
	off := int64(1)
	for ; off <= int64(changedLimit(l)); off++ {
		id := fmt.Sprintf("o%d", off)
		if got, msg := g.Apply(propRecord(simRec{key: "*/" + id, value: del("*", id)}, off)); got != contract.ControlNotFound {
			t.Fatalf("the delete of %s: %s %q", id, got, msg)
		}
	}
	if _, remembered := g.changed.get("*/c"); remembered || g.forgotten != 0 {
		t.Fatalf("*/c remembered %v, the newest change forgotten at %d: the churn did not forget the upsert alone", remembered, g.forgotten)
	}
	keeper := propRecord(simRec{key: "*/c", value: del("*", "c"), keeps: &Origin{Offset: 0, Time: time.Unix(0, 0).UTC()}, after: new(int64(0)), depth: 1}, off)
	got, msg := g.Apply(keeper)
	if _, ok := g.Version(rule.Key{Scope: "*", ID: "c"}); !ok {
		t.Errorf("the delete Keeper of a key forgotten (%s %q) deleted the rule", got, msg)
	}
}
