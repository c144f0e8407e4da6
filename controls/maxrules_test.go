package controls

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRegistryBoundsActiveRules: past max_rules a new rule is rejected with a message
// naming the limit and its flag, while replacing or deleting an active rule still works
// and a deletion makes room again. Every active version costs the live index, counters
// and one backfill job per partition, so this bounds the backfill queue too.
func TestRegistryBoundsActiveRules(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.DefaultLimits
	l.MaxRules = 3
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	off := int64(0)
	apply := func(key string, value []byte) (string, string) {
		off++
		return g.Apply(Decode([]byte(key), value, 0, off, time.Time{}))
	}
	for i := range 3 {
		if got, msg := apply(fmt.Sprintf("*/r%d", i), upsert(fmt.Sprintf("r%d", i), "*", 1, "$.x")); got != contract.ControlOK {
			t.Fatalf("rule %d: %s %s", i, got, msg)
		}
	}
	got, msg := apply("*/r3", upsert("r3", "*", 1, "$.x"))
	if got != contract.ControlInvalid || !strings.Contains(msg, "limit max_rules, flag --max-rules") {
		t.Fatalf("a fourth rule: %s %q, want invalid naming max_rules", got, msg)
	}
	if rej := g.Rejected(); len(rej) != 1 || rej[0].Key != "*/r3" || rej[0].Offset != off {
		t.Fatalf("rejected controls %+v, want the fourth rule's", rej)
	}
	if got, msg := apply("*/r1", upsert("r1", "*", 2, "$.x")); got != contract.ControlOK {
		t.Fatalf("replacing an active rule at the limit: %s %s", got, msg)
	}
	if got, msg := apply("*/r0", nil); got != contract.ControlOK {
		t.Fatalf("deleting at the limit: %s %s", got, msg)
	}
	if got, msg := apply("*/r3", upsert("r3", "*", 1, "$.x")); got != contract.ControlOK {
		t.Fatalf("a new rule once there is room: %s %s", got, msg)
	}
	if g.Len() != 3 {
		t.Fatalf("%d active rules, want 3", g.Len())
	}
}
