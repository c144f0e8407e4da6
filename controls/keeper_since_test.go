package controls

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// TestKeeperOfAVersionAKeeperMadeIsSeen: a daemon under a lower --max-rule-bytes holds
// version 1 of */x and finds version 2 invalid, and answers it with a Keeper of version
// 1 (hindsight.keeps: offset 0). A daemon the rule fits, started after, folds the topic:
// in full it applies version 2 and takes the Keeper of version 1, whose upsert it saw,
// for stale; compacted, the key's first record it folds is an earlier Keeper of version
// 1 (keeps offset 0), and it took the later Keeper for one keeping a version it never
// saw (made before the key's first change it remembers), a restore, and ran version 1.
// The version a Keeper makes is the one its upsert made: the fold saw it.
// Not parallel: it sets the process's rule limits.
func TestKeeperOfAVersionAKeeperMadeIsSeen(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	small := rule.DefaultLimits
	small.MaxRuleBytes, small.MaxRulesBytes = 250, 250
	log := simTopic(t, []*simDaemon{{g: NewRegistry(), limits: small}}, []simRec{
		{key: "*/x", value: upsert("x", "*", 1, "$.a")},
		{key: "*/x", value: upsert("x", "*", 1, "$.b")}, // stale: not newer; its Keeper at offset 2
	}, 50)
	at := len(log)
	// Version 2, invalid to that daemon, and the Keeper of version 1 it writes after it.
	log = append(log, simRec{key: "*/x", value: upsert("x", "*", 2, "$.c"+strings.Repeat("y", 150))})
	b := propFold(t, log, compactedAt(log, 0, true), small)
	v2 := propRecord(log[at], int64(at))
	if v2.Err == nil {
		t.Fatalf("version 2 is valid under max_rule_bytes %d", small.MaxRuleBytes)
	}
	c, keeps, refused := b.Keeper(v2, nil)
	val, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	log = append(log, simRec{key: c.RecordKey(), value: val, keeps: keeps, after: new(int64(at)), depth: 1, refused: refused})
	for i, r := range log {
		t.Logf("offset %d: %s after=%v depth=%d keeps=%v: %.60s", i, r.key, deref(r.after), r.depth, r.keeps, r.value)
	}
	whole := foldShown(propFold(t, log, compactedAt(log, 0, true), rule.DefaultLimits))
	compacted := foldShown(propFold(t, log, compactedAt(log, at, true), rule.DefaultLimits))
	if whole != compacted {
		t.Errorf("a daemon under the higher limit: the fold of the whole log holds %s, of the topic compacted below offset %d %s", whole, at, compacted)
	}
}
