package controls

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStaleKeeperAfterChurn: a Keeper written after a control not applied (offset 2) of
// key */k, which a delete at offset 3 made stale, must not be applied whatever other
// keys change before it lands. Registry.changed forgets */k's change once more than
// changedLimit other keys changed, and the stale Keeper then brought the deleted rule
// back (found by a review helper); a Keeper of a key forgotten, written before the
// newest change forgotten, is taken for stale now. Not parallel: it sets the process's
// rule limits.
func TestStaleKeeperAfterChurn(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.DefaultLimits
	l.MaxRules, l.MaxDestinations, l.MaxMutes = 2, 1, 1
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	apply := func(key string, value []byte, off int64, after *int64) (string, string) {
		rec := Decode([]byte(key), value, 0, off, time.Unix(off, 0))
		rec.KeeperAfter = after
		return g.Apply(rec)
	}
	apply("*/k", upsert("k", "*", 2, "$.x"), 1, nil)
	apply("*/k", upsert("k", "*", 1, "$.x"), 2, nil) // stale version: not applied, a Keeper follows
	if got, msg := apply("*/k", del("*", "k"), 3, nil); got != contract.ControlOK {
		t.Fatalf("delete: %s %s", got, msg)
	}
	off := int64(4)
	for i := range changedLimit(l) {
		id := fmt.Sprintf("other-%d", i)
		apply("*/"+id, upsert(id, "*", 1, "$.x"), off, nil)
		off++
		apply("*/"+id, del("*", id), off, nil)
		off++
	}
	after := int64(2)
	got, msg := apply("*/k", upsert("k", "*", 2, "$.x"), off, &after)
	if got != contract.ControlStale || g.Len() != 0 {
		t.Fatalf("the Keeper written after offset 2, with */k deleted at 3: %s %q, %d rules active; want %s and none (the delete undone)", got, msg, g.Len(), contract.ControlStale)
	}
}
