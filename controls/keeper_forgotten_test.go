package controls

import (
	"fmt"
	"strings"
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

// TestStaleKeeperOfAKeyForgottenSaysSo: a Keeper of a key whose changes the fold does
// not remember (never changed, or forgotten past changedLimit) is taken for stale when
// written before the newest change the fold forgot. Its message said "which the keeper
// at offset N of its key is newer than", N being that forgotten change, of another key:
// no Keeper of its key was at N. It says what the fold knows. Not parallel: it sets the
// process's rule limits.
func TestStaleKeeperOfAKeyForgottenSaysSo(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.DefaultLimits
	l.MaxRules, l.MaxDestinations, l.MaxMutes = 2, 1, 1
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	off := int64(0)
	for i := range changedLimit(l) + 1 { // the first key forgotten, its last change at offset 1
		id := fmt.Sprintf("other-%d", i)
		g.Apply(Decode([]byte("*/"+id), upsert(id, "*", 1, "$.x"), 0, off, time.Unix(off, 0)))
		g.Apply(Decode([]byte("*/"+id), del("*", id), 0, off+1, time.Unix(off+1, 0)))
		off += 2
	}
	rec := Decode([]byte("*/never"), upsert("never", "*", 1, "$.x"), 0, off, time.Unix(off, 0))
	rec.KeeperAfter = new(int64(0))
	rec.Keeps = &Origin{Offset: 0, Time: time.Unix(0, 0).UTC()}
	got, msg := g.Apply(rec)
	if got != contract.ControlStale {
		t.Fatalf("a Keeper of */never written after offset 0, the fold having forgotten the change at 1: %s %q, want stale", got, msg)
	}
	if strings.Contains(msg, "keeper at offset") || !strings.Contains(msg, "no longer remembers") {
		t.Errorf("the message says %q: it must not name a keeper of */never that does not exist, and must say the fold no longer remembers the key's changes", msg)
	}
}
