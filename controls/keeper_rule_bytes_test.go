package controls

import (
	"strings"
	"testing"

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
