package controls_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/rule"
)

// TestActiveRulesBytesAreBounded: max_rules_bytes bounds the active rules together by
// their compact JSON. Rules of a 40-member `in` list under a bound of three of them:
// the fourth new rule is rejected naming the limit (and remembered as a rejected
// control); a replacement that grows past it is rejected too, its rule keeping its
// version and saying why; deleting a rule frees its bytes, and the fourth then fits.
// Without the bound only max_rules counted, so rules of --max-rule-bytes each could
// hold max_rules times that, compiled to ten times more.
func TestActiveRulesBytesAreBounded(t *testing.T) {
	upsert := func(id string, version, members int) []byte {
		in := make([]string, members)
		for i := range in {
			in[i] = fmt.Sprintf("%q", fmt.Sprintf("member-%04d", i))
		}
		return fmt.Appendf(nil, `{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":1,"when":{"path":"$.x","op":"in","value":[%s]}}}`,
			id, version, strings.Join(in, ","))
	}
	size := func(control []byte) int {
		c, err := rule.ParseControl(control)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(c.Rule)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	one := size(upsert("r0", 1, 40))
	lim := rule.DefaultLimits
	lim.MaxRuleBytes, lim.MaxRulesBytes = 3*one, 3*one+one/2
	setLimits(t, lim)
	g := controls.NewRegistry()
	off := int64(0)
	apply := func(key string, value []byte) (string, string) {
		off++
		return g.Apply(controls.Decode([]byte(key), value, 0, off, time.Unix(off, 0)))
	}
	for i := range 3 {
		if st, msg := apply(fmt.Sprintf("*/r%d", i), upsert(fmt.Sprintf("r%d", i), 1, 40)); st != contract.ControlOK {
			t.Fatalf("rule %d of 3 within the bound: %s %s", i, st, msg)
		}
	}
	if got := g.ActiveBytes(); got != int64(3*one) {
		t.Errorf("3 rules of %d bytes: ActiveBytes %d", one, got)
	}
	st, msg := apply("*/r3", upsert("r3", 1, 40))
	if st != contract.ControlInvalid || !strings.Contains(msg, "limit max_rules_bytes, flag --max-rules-bytes") {
		t.Fatalf("a fourth rule past the bound: %s %q, want invalid naming the limit", st, msg)
	}
	if l := g.List(); len(l.Invalid) != 1 || l.Invalid[0].Key != "*/r3" {
		t.Errorf("rejected controls %+v, want the fourth rule's", l.Invalid)
	}
	// A replacement of the same size fits at the bound: it frees the bytes of the
	// version it replaces.
	if st, msg := apply("*/r2", upsert("r2", 2, 40)); st != contract.ControlOK {
		t.Fatalf("a replacement of the same size at the bound: %s %s", st, msg)
	}
	if got := g.ActiveBytes(); got != int64(3*one) {
		t.Errorf("3 rules of %d bytes, one replaced by one as large: ActiveBytes %d", one, got)
	}
	// A replacement that grows past the bound: refused, the version running on.
	if st, msg := apply("*/r0", upsert("r0", 2, 80)); st != contract.ControlInvalid || !strings.Contains(msg, "max_rules_bytes") {
		t.Fatalf("a replacement growing past the bound: %s %q", st, msg)
	}
	if v, ok := g.Version(rule.Key{Scope: "*", ID: "r0"}); !ok || v.Rule.Version != 1 {
		t.Errorf("r0 after its refused replacement: %v %+v, want version 1 active", ok, v)
	}
	// One that shrinks fits, and frees what it shrank by.
	if st, msg := apply("*/r0", upsert("r0", 3, 10)); st != contract.ControlOK {
		t.Fatalf("a replacement shrinking the rule: %s %s", st, msg)
	}
	if st, msg := apply("*/r1", []byte(`{"op":"delete","scope":"*","id":"r1"}`)); st != contract.ControlOK {
		t.Fatalf("delete: %s %s", st, msg)
	}
	if st, msg := apply("*/r3", upsert("r3", 1, 40)); st != contract.ControlOK {
		t.Fatalf("the fourth rule once another was deleted: %s %s", st, msg)
	}
	if got, want := g.ActiveBytes(), int64(2*one+size(upsert("r0", 3, 10))); got != want {
		t.Errorf("ActiveBytes %d, want %d (r0 shrunk, r1 deleted, r2 and r3)", got, want)
	}
}
