package controls

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRegistryChurnDoesNotGrowChanged: rules (and mutes) made and deleted under ever
// new ids leave the registry holding nothing, and its memory of each key's last change
// (Registry.changed, which keepers are judged by) must stay bounded: it kept one entry
// per key ever changed, while retired/ended were bounded by max_rules for this very
// reason (found by a review helper). Not parallel: it sets the process's rule limits.
func TestRegistryChurnDoesNotGrowChanged(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.DefaultLimits
	l.MaxRules = 10
	l.MaxMutes = 10
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	off := int64(0)
	apply := func(key string, value []byte) {
		t.Helper()
		off++
		if got, msg := g.Apply(Decode([]byte(key), value, 0, off, time.Unix(off, 0))); got != contract.ControlOK {
			t.Fatalf("%s at %d: %s %s", key, off, got, msg)
		}
	}
	const n = 5000
	for i := range n {
		id := fmt.Sprintf("churn-%d", i)
		apply("*/"+id, upsert(id, "*", 1, "$.x"))
		apply("*/"+id, del("*", id))
		mk := fmt.Sprintf("mute:*/m-%d", i)
		apply(mk, fmt.Appendf(nil, `{"op":"upsert","mute":{"scope":"*","id":"m-%d","rule":"x"}}`, i))
		apply(mk, fmt.Appendf(nil, `{"op":"delete","kind":"mute","scope":"*","id":"m-%d"}`, i))
	}
	if g.Len() != 0 || len(g.Mutes()) != 0 {
		t.Fatalf("registry holds %d rules, %d mutes; want none", g.Len(), len(g.Mutes()))
	}
	g.mu.Lock()
	changed, retired := len(g.changed.m), len(g.retired.m)
	g.mu.Unlock()
	t.Logf("after %d rule and %d mute ids made and deleted: changed holds %d keys, retired %d (max_rules %d)", n, n, changed, retired, l.MaxRules)
	if changed > changedLimit(l) {
		t.Fatalf("Registry.changed holds %d keys of rules and mutes that no longer exist (nothing active); it grows with every id ever used, bounded by no flag", changed)
	}
}
