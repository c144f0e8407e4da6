package controls

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// TestRegistryEnded: a resolving rule's version replaced or deleted is remembered as its
// key's ended version (what a restored snapshot names it by), a rule that never
// resolves is not, and past max_rules the oldest keys are forgotten.
func TestRegistryEnded(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	l := rule.DefaultLimits
	l.MaxRules = 3
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	g := NewRegistry()
	off := int64(0)
	apply := func(key string, value []byte) {
		t.Helper()
		off++
		g.Apply(Decode([]byte(key), value, 0, off, time.Time{}))
	}
	resolving := func(id string, version int64) []byte {
		return fmt.Appendf(nil, `{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":1,"when":{"path":"$.x"},
		  "window":{"size":"1m"},"alert":{"resolve":true}}}`, id, version)
	}
	ended := func(id string) string {
		if v, ok := g.Ended(rule.Key{Scope: "*", ID: id}); ok {
			return fmt.Sprintf("v%d@%d", v.Rule.Version, v.ControlOffset)
		}
		return "none"
	}
	apply("*/a", resolving("a", 1)) // offset 1
	apply("*/p", upsert("p", "*", 1, "$.x"))
	if got := ended("a"); got != "none" {
		t.Fatalf("active a ended: %s", got)
	}
	apply("*/a", resolving("a", 2)) // offset 3
	apply("*/p", upsert("p", "*", 2, "$.x"))
	if got := ended("a"); got != "v1@1" {
		t.Errorf("a replaced: ended %s, want v1@1", got)
	}
	if got := ended("p"); got != "none" {
		t.Errorf("p, which never resolves, ended %s", got)
	}
	apply("*/a", del("*", "a"))
	if got := ended("a"); got != "v2@3" {
		t.Errorf("a deleted: ended %s, want v2@3", got)
	}
	for _, id := range []string{"b", "c", "d"} {
		apply("*/"+id, resolving(id, 1))
		apply("*/"+id, del("*", id))
	}
	if got := ended("a") + " " + ended("b") + " " + ended("d"); got != "none v1@6 v1@10" {
		t.Errorf("with max_rules 3, ended a b d: %s, want the oldest forgotten", got)
	}
}
