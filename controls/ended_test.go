package controls

import (
	"fmt"
	"slices"
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
	// A snapshot naming a@1's offset with another rule's fingerprint (a version made
	// elsewhere) is not a@1: its counters are not restored onto it.
	if v := made["a@1"]; true {
		if e, ok := g.Ended(v.Key, v.ControlOffset, v.Fingerprint+1); ok {
			t.Errorf("Ended at a@1's offset with another fingerprint: %+v, want none", e)
		}
	}
	for _, id := range []string{"b", "c", "d"} {
		apply("*/"+id, resolving(id, 1))
		apply("*/"+id, del("*", id))
	}
	if got := ended("a@1", "b@1", "d@1"); got != "b@1 d@1" {
		t.Errorf("with max_rules 3, ended %q: want a forgotten", got)
	}
}

// TestRegistryEndedAfter: the ended versions of resolving rules whose end (the control
// that replaced or deleted them) is above an offset, in the order of those controls,
// whichever key: what a snapshot that adopted no control above that offset may not
// name though a process ran them after it.
func TestRegistryEndedAfter(t *testing.T) {
	g := NewRegistry()
	off := int64(-1)
	apply := func(key string, value []byte) {
		off++
		g.Apply(Decode([]byte(key), value, 0, off, time.Time{}))
	}
	resolving := func(id string, version int64) []byte {
		return fmt.Appendf(nil, `{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":1,"when":{"path":"$.x"},
		  "window":{"size":"1m"},"alert":{"resolve":true}}}`, id, version)
	}
	apply("*/a", resolving("a", 1))          // 0
	apply("*/b", resolving("b", 1))          // 1
	apply("*/p", upsert("p", "*", 1, "$.x")) // 2
	apply("*/a", resolving("a", 2))          // 3: ends a@1
	apply("*/p", del("*", "p"))              // 4: p never resolves
	apply("*/b", del("*", "b"))              // 5: ends b@1
	apply("*/a", del("*", "a"))              // 6: ends a@2
	names := func(after int64) string {
		var out []string
		for _, v := range g.EndedAfter(after) {
			out = append(out, fmt.Sprintf("%s@%d", v.Key.ID, v.Rule.Version))
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		after int64
		want  string
	}{
		{-1, "a@1 b@1 a@2"},
		{2, "a@1 b@1 a@2"},
		{3, "b@1 a@2"},
		{5, "a@2"},
		{6, ""},
	} {
		if got := names(tc.after); got != tc.want {
			t.Errorf("EndedAfter(%d) = %q, want %q", tc.after, got, tc.want)
		}
	}
}

// TestRegistryRetired: a rule's delete remembers the version it deleted, for the
// console and `rules apply` to make the rule again above it; the fold itself takes a
// rule made again at any version, as it did before (topics hold such histories).
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
	if _, ok := g.Retired(k); ok {
		t.Error("an active rule is retired")
	}
	apply("*/a", del("*", "a"))
	if v, ok := g.Retired(k); !ok || v != 4 {
		t.Errorf("retired %d %v, want 4", v, ok)
	}
	if st := apply("*/a", upsert("a", "*", 1, "$.y")); st != contract.ControlOK {
		t.Errorf("made again at version 1: %s, want ok (the fold takes it)", st)
	}
	apply("*/a", del("*", "a"))
	if v, _ := g.Retired(k); v != 4 {
		t.Errorf("retired %d after version 1 was deleted in turn, want 4 still: a version above it would repeat version 4's alert ids otherwise", v)
	}
	if st := apply("*/z", del("*", "z")); st != contract.ControlNotFound {
		t.Errorf("a delete of no rule: %s", st)
	}
	if _, ok := g.Retired(rule.Key{Scope: "*", ID: "z"}); ok {
		t.Error("a key that held no rule is retired")
	}
}

// TestKeyMemoryKeepsTheKeysPutLast: a key put again counts as put last, so that the
// key forgotten past the limit is the one put longest ago, and memory stays bounded
// however often keys are put.
func TestKeyMemoryKeepsTheKeysPutLast(t *testing.T) {
	var km keyMemory[rule.Key, int]
	k := func(id string) rule.Key { return rule.Key{Scope: "*", ID: id} }
	km.put(k("a"), 1, 2)
	km.put(k("b"), 1, 2)
	km.put(k("a"), 2, 2) // a again: b is now the oldest
	km.put(k("c"), 1, 2)
	_, a := km.get(k("a"))
	_, b := km.get(k("b"))
	if v, _ := km.get(k("a")); !a || b || v != 2 {
		t.Errorf("a kept %v (value %d), b kept %v; want a (2), not b", a, v, b)
	}
	for i := range 10_000 {
		km.put(k("a"), i, 2)
	}
	if len(km.order) > 2*len(km.m)+16 {
		t.Errorf("%d order entries for %d keys", len(km.order), len(km.m))
	}
}

// TestKeyMemoryForgetsInPutOrderAfterCompaction: once stale order entries are dropped,
// the key put longest ago is still the one forgotten. The compaction keeping the stale
// entries and dropping the live ones lost a's place, so b (put after a) was forgotten
// instead.
func TestKeyMemoryForgetsInPutOrderAfterCompaction(t *testing.T) {
	var km keyMemory[rule.Key, int]
	k := func(id string) rule.Key { return rule.Key{Scope: "*", ID: id} }
	for i := range 100 { // far past 2*len+16 order entries: compacted many times
		km.put(k("a"), i, 2)
	}
	km.put(k("b"), 1, 2)
	var forgotten []int
	km.putEvicting(k("c"), 1, 2, func(v int) { forgotten = append(forgotten, v) })
	_, a := km.get(k("a"))
	_, b := km.get(k("b"))
	_, c := km.get(k("c"))
	if a || !b || !c || !slices.Equal(forgotten, []int{99}) {
		t.Errorf("kept a %v, b %v, c %v, forgot %v; want b and c kept, a (99) forgotten", a, b, c, forgotten)
	}
}
