package controls

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestRegistryEnded: each version of a resolving rule that a change ended (replaced or
// deleted) is found by what a snapshot names it by (control offset, fingerprint), all
// of a key's last versions, not only its newest; the active version and a rule that
// never resolves are not; past max_rules the oldest keys are forgotten.
func TestRegistryEnded(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.DefaultLimits
	l.MaxRules = 3
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	off := int64(0)
	made := map[string]*Version{} // "id@version"
	apply := func(key string, value []byte) {
		t.Helper()
		off++
		g.Apply(Decode([]byte(key), value, 0, off, time.Time{}))
		if _, id, _ := strings.Cut(key, "/"); true {
			if v, ok := g.Version(rule.Key{Scope: "*", ID: id}); ok {
				made[fmt.Sprintf("%s@%d", id, v.Rule.Version)] = v
			}
		}
	}
	resolving := func(id string, version int64) []byte {
		return fmt.Appendf(nil, `{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":1,"when":{"path":"$.x"},
		  "window":{"size":"1m"},"alert":{"resolve":true}}}`, id, version)
	}
	ended := func(names ...string) string {
		var out []string
		for _, n := range names {
			v := made[n]
			if e, ok := g.Ended(v.Key, v.ControlOffset, v.Fingerprint); ok && e == v {
				out = append(out, n)
			}
		}
		return strings.Join(out, " ")
	}
	apply("*/a", resolving("a", 1))
	apply("*/p", upsert("p", "*", 1, "$.x"))
	apply("*/a", resolving("a", 2))
	apply("*/p", upsert("p", "*", 2, "$.x"))
	apply("*/a", resolving("a", 3))
	if got := ended("a@1", "a@2", "a@3", "p@1"); got != "a@1 a@2" {
		t.Errorf("a replaced twice: ended %q, want a@1 a@2 (not the active a@3, nor p, which never resolves)", got)
	}
	apply("*/a", del("*", "a"))
	if got := ended("a@1", "a@2", "a@3"); got != "a@1 a@2 a@3" {
		t.Errorf("a deleted: ended %q, want a@1 a@2 a@3", got)
	}
	for _, id := range []string{"b", "c", "d"} {
		apply("*/"+id, resolving(id, 1))
		apply("*/"+id, del("*", id))
	}
	if got := ended("a@1", "b@1", "d@1"); got != "b@1 d@1" {
		t.Errorf("with max_rules 3, ended %q: want a forgotten", got)
	}
}

// TestRegistryRetired: a rule's delete remembers its version, the larger of the active
// one and the one the delete names (a delete written as a Keeper, or after compaction
// removed the upsert); a key whose rule was deleted has the delete as its Keeper, so
// that an upsert refused as stale is not left the key's newest record.
func TestRegistryRetired(t *testing.T) {
	g := NewRegistry()
	off := int64(0)
	apply := func(key string, value []byte) string {
		off++
		st, _ := g.Apply(Decode([]byte(key), value, 0, off, time.Time{}))
		return st
	}
	k := rule.Key{Scope: "*", ID: "a"}
	apply("*/a", upsert("a", "*", 4, "$.x"))
	apply("*/a", []byte(`{"op":"delete","scope":"*","id":"a","version":2}`))
	if v, ok := g.Retired(k); !ok || v != 4 {
		t.Errorf("retired %d %v, want 4 (the active version, above the one the delete named)", v, ok)
	}
	if st := apply("*/z", []byte(`{"op":"delete","scope":"*","id":"z","version":7}`)); st != contract.ControlNotFound {
		t.Errorf("a delete of no rule: %s", st)
	}
	if v, _ := g.Retired(rule.Key{Scope: "*", ID: "z"}); v != 7 {
		t.Errorf("retired z %d, want 7: the version a delete names is kept though no rule was active", v)
	}
	stale := Decode([]byte("*/a"), upsert("a", "*", 3, "$.y"), 0, off+1, time.Time{})
	if st, _ := g.Apply(stale); st != contract.ControlStale {
		t.Fatalf("version 3 after 4 was deleted: %s, want stale", st)
	}
	keeper, _ := g.Keeper(stale)
	if keeper == nil || keeper.Op != rule.OpDelete || keeper.Key() != k || keeper.Version != 4 {
		t.Fatalf("keeper %+v, want the delete of */a naming version 4", keeper)
	}
	// Alone, as compaction leaves the key, the keeper folds to the same: nothing
	// active, version 4 retired.
	data, err := keeper.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g2 := NewRegistry()
	if st, _ := g2.Apply(Decode([]byte(keeper.RecordKey()), data, 0, 0, time.Time{})); st != contract.ControlNotFound || g2.Len() != 0 {
		t.Errorf("the keeper alone folds %s with %d rules", st, g2.Len())
	}
	if v, _ := g2.Retired(k); v != 4 {
		t.Errorf("the keeper alone retires version %d, want 4", v)
	}
}
