package controls

import (
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestKeepersOfDaemonsWithDifferentMaxRulesEnd: two daemons of one deployment run with
// different --max-rules (1 and 2). A second rule is refused by the first daemon
// alone, which writes the Keeper of a key that holds nothing (a delete carrying an
// Origin). The second daemon holds the rule, takes that Keeper for stale and writes
// the rule's Keeper (an upsert); the first refused it at its limit and wrote the empty
// key's Keeper again, and so on, without end (found by a review helper): the controls
// topic must stop growing (the chain ends at MaxKeeperDepth). Not parallel: it sets the
// process's rule limits.
func TestKeepersOfDaemonsWithDifferentMaxRulesEnd(t *testing.T) {
	lim := func(n int) rule.Limits { l := rule.DefaultLimits; l.MaxRules = n; return l }
	a := &simDaemon{g: NewRegistry(), limits: lim(1)}
	b := &simDaemon{g: NewRegistry(), limits: lim(2)}
	log := []simRec{
		{key: "*/a", value: upsert("a", "*", 1, "$.x")},
		{key: "*/b", value: upsert("b", "*", 1, "$.x")},
	}
	const max = 200
	log = simTopic(t, []*simDaemon{a, b}, log, max)
	if len(log) >= max {
		for i, r := range log[:8] {
			t.Logf("offset %d: %s after %v keeps %v: %s", i, r.key, deref(r.after), r.keeps, r.value)
		}
		t.Fatalf("the controls topic holds %d records and is still growing: two daemons' Keepers of */b answer each other without end", len(log))
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
