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

func upsert(id, scope string, version int64, path string) []byte {
	return fmt.Appendf(nil, `{"op":"upsert","rule":{"id":%q,"scope":%q,"version":%d,"threshold":1,"when":{"path":%q}}}`, id, scope, version, path)
}

func del(scope, id string) []byte {
	return fmt.Appendf(nil, `{"op":"delete","scope":%q,"id":%q}`, scope, id)
}

// step is one control record and the outcome folding it must have.
type step struct {
	key     string
	value   []byte // nil: a tombstone
	outcome string
}

func TestRegistryFold(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		// active is the fold's result: "SCOPE/ID@VERSION:PATH", in key order.
		active       []string
		rejected     int
		lastErrorFor string // a key whose view carries a last error
	}{
		{name: "upsert then replace only that rule", steps: []step{
			{"*/a", upsert("a", "*", 1, "$.x"), contract.ControlOK},
			{"c-1/a", upsert("a", "c-1", 1, "$.x"), contract.ControlOK},
			{"*/b", upsert("b", "*", 1, "$.x"), contract.ControlOK},
			{"*/a", upsert("a", "*", 2, "$.y"), contract.ControlOK},
		}, active: []string{"*/a@2:$.y", "*/b@1:$.x", "c-1/a@1:$.x"}},
		{name: "a version not above the active one is stale", steps: []step{
			{"*/a", upsert("a", "*", 2, "$.x"), contract.ControlOK},
			{"*/a", upsert("a", "*", 2, "$.y"), contract.ControlStale},
			{"*/a", upsert("a", "*", 1, "$.z"), contract.ControlStale},
		}, active: []string{"*/a@2:$.x"}, lastErrorFor: "*/a"},
		{name: "delete removes one key; twice is not found", steps: []step{
			{"*/a", upsert("a", "*", 1, "$.x"), contract.ControlOK},
			{"c-1/a", upsert("a", "c-1", 1, "$.x"), contract.ControlOK},
			{"*/a", del("*", "a"), contract.ControlOK},
			{"*/a", del("*", "a"), contract.ControlNotFound},
		}, active: []string{"c-1/a@1:$.x"}},
		{name: "a tombstone deletes", steps: []step{
			{"*/a", upsert("a", "*", 1, "$.x"), contract.ControlOK},
			{"*/a", nil, contract.ControlOK},
		}, active: []string{}},
		{name: "invalid records change nothing and are remembered", steps: []step{
			{"*/a", upsert("a", "*", 1, "$.x"), contract.ControlOK},
			{"*/a", upsert("a", "*", 2, "$.x["), contract.ControlInvalid},
			{"*/a", []byte(`{"op":"upsert"`), contract.ControlInvalid},
			{"*/b", upsert("a", "*", 3, "$.x"), contract.ControlInvalid}, // key is not the rule's
		}, active: []string{"*/a@1:$.x"}, rejected: 3, lastErrorFor: "*/a"},
		{name: "a deleted rule comes back as a new version", steps: []step{
			{"*/a", upsert("a", "*", 5, "$.x"), contract.ControlOK},
			{"*/a", del("*", "a"), contract.ControlOK},
			{"*/a", upsert("a", "*", 1, "$.y"), contract.ControlOK},
		}, active: []string{"*/a@1:$.y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewRegistry()
			seqs := map[uint32]bool{}
			for i, s := range tc.steps {
				rec := Decode([]byte(s.key), s.value, 0, int64(i), time.Unix(int64(i), 0))
				if got, msg := g.Apply(rec); got != s.outcome {
					t.Fatalf("step %d (%s): outcome %s (%s), want %s", i, s.key, got, msg, s.outcome)
				}
				for _, v := range g.Versions() {
					seqs[v.Seq] = true
				}
			}
			got := []string{}
			for _, v := range g.Versions() {
				got = append(got, fmt.Sprintf("%s@%d:%s", v.Key, v.Rule.Version, v.Rule.When.Path))
				if v.Rule.Key() != v.Key || v.Fingerprint != Fingerprint(v.Rule) {
					t.Errorf("%s: key or fingerprint does not describe its rule", v.Key)
				}
			}
			if !slices.Equal(got, tc.active) {
				t.Fatalf("active %v, want %v", got, tc.active)
			}
			if g.Len() != len(tc.active) {
				t.Fatalf("Len %d, want %d", g.Len(), len(tc.active))
			}
			if n := len(g.Rejected()); n != tc.rejected {
				t.Fatalf("%d rejected controls, want %d: %+v", n, tc.rejected, g.Rejected())
			}
			for _, v := range g.Rules() {
				if v.Status != contract.RuleLive {
					t.Errorf("%s: status %q from the fold alone", v.Key(), v.Status)
				}
				if hasErr := v.LastError != ""; hasErr != (v.Key().String() == tc.lastErrorFor) {
					t.Errorf("%s: last error %q", v.Key(), v.LastError)
				}
			}
		})
	}
}

// A new version gets a new identity (Seq), so live counters keyed by it start at zero,
// while other rules keep theirs.
func TestRegistryVersionIdentity(t *testing.T) {
	g := NewRegistry()
	apply := func(key string, value []byte) {
		t.Helper()
		if got, msg := g.Apply(Decode([]byte(key), value, 0, 0, time.Time{})); got != contract.ControlOK {
			t.Fatalf("%s: %s %s", key, got, msg)
		}
	}
	apply("*/a", upsert("a", "*", 1, "$.x"))
	apply("*/b", upsert("b", "*", 1, "$.x"))
	a1, _ := g.Version(rule.Key{Scope: "*", ID: "a"})
	b1, _ := g.Version(rule.Key{Scope: "*", ID: "b"})
	apply("*/a", upsert("a", "*", 2, "$.x"))
	a2, _ := g.Version(rule.Key{Scope: "*", ID: "a"})
	b2, _ := g.Version(rule.Key{Scope: "*", ID: "b"})
	if a1 == a2 || a1.Seq == a2.Seq {
		t.Fatal("a new version kept the old identity")
	}
	if b1 != b2 {
		t.Fatal("replacing */a changed */b's identity")
	}
	// Each version's rule is its own and carries the version's Seq, which the evaluator
	// counts under without a lookup.
	for _, v := range []*Version{a1, a2, b2} {
		if v.Rule.Seq != v.Seq {
			t.Errorf("%s version %d: rule.Seq %d, version Seq %d", v.Key, v.Rule.Version, v.Rule.Seq, v.Seq)
		}
	}
	if a1.Rule == a2.Rule {
		t.Error("two versions of */a share one rule")
	}
}

// TestRegistryBoundsRejected: past max_rejected_controls the oldest rejected controls
// are dropped, and counted.
func TestRegistryBoundsRejected(t *testing.T) {
	g := NewRegistry()
	limit := rule.CurrentLimits().MaxRejectedControls
	for i := range limit + 7 {
		g.Apply(Decode([]byte("*/x"), []byte("not json"), 0, int64(i), time.Time{}))
	}
	rej := g.Rejected()
	if len(rej) != limit || rej[0].Offset != 7 || rej[len(rej)-1].Offset != int64(limit)+6 {
		t.Fatalf("kept %d rejected, offsets %d..%d; want the newest %d", len(rej), rej[0].Offset, rej[len(rej)-1].Offset, limit)
	}
	if l := g.List(); g.RejectedDropped() != 7 || l.InvalidDropped != 7 {
		t.Fatalf("dropped %d (list says %d), want 7", g.RejectedDropped(), l.InvalidDropped)
	}
	if !strings.Contains(rej[0].Error, "not a valid JSON control") {
		t.Fatalf("error %q does not say what is wrong", rej[0].Error)
	}
}

// TestRegistryKeeper: a record not applied (invalid, stale, on a key the rule holds)
// gets the control that restores what its key holds, which folds as Unchanged (the
// same version, its identity kept) and alone, as compaction leaves the key, folds to
// the same rule; a key that holds nothing needs none.
func TestRegistryKeeper(t *testing.T) {
	dest := func(url string) []byte {
		return fmt.Appendf(nil, `{"op":"upsert","destination":{"scope":"*","name":"ops","type":"webhook","url":%q}}`, url)
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  string // the keeper's upsert, "delete" for a delete that keeps nothing
	}{
		{"invalid JSONPath", []step{
			{"*/a", upsert("a", "*", 2, "$.a"), contract.ControlOK},
			{"*/a", upsert("a", "*", 3, "$.a["), contract.ControlInvalid},
		}, "*/a@2:$.a"},
		{"not JSON", []step{
			{"*/a", upsert("a", "*", 2, "$.a"), contract.ControlOK},
			{"*/a", []byte(`{"op":"upsert","rule":{"id":"a"`), contract.ControlInvalid},
		}, "*/a@2:$.a"},
		{"an older version", []step{
			{"*/s", upsert("s", "*", 2, "$.new"), contract.ControlOK},
			{"*/s", upsert("s", "*", 1, "$.old"), contract.ControlStale},
		}, "*/s@2:$.new"},
		{"the same version, changed", []step{
			{"*/s", upsert("s", "*", 2, "$.new"), contract.ControlOK},
			{"*/s", upsert("s", "*", 2, "$.other"), contract.ControlStale},
		}, "*/s@2:$.new"},
		{"a key holding nothing", []step{
			{"*/n", upsert("n", "*", 1, "$.n["), contract.ControlInvalid},
		}, "delete"},
		{"a destination", []step{
			{"destination:*/ops", dest("https://example.com/hook"), contract.ControlOK},
			{"destination:*/ops", []byte(`{"op":"upsert","destination":{`), contract.ControlInvalid},
		}, "destination:*/ops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewRegistry()
			var last Record
			for i, s := range tc.steps {
				last = Decode([]byte(s.key), s.value, 0, int64(i), time.Unix(int64(i), 0))
				if got, msg := g.Apply(last); got != s.outcome {
					t.Fatalf("step %d: outcome %s (%s), want %s", i, got, msg, s.outcome)
				}
			}
			c, keeps, _ := g.Keeper(last, nil)
			if c == nil {
				t.Fatal("no keeper")
			}
			if tc.want == "delete" {
				if c.Op != rule.OpDelete || c.RecordKey() != last.Key || keeps == nil || keeps.Offset != last.Offset {
					t.Fatalf("keeper %+v (keeps %v) for a key holding nothing, want a delete of %s keeping offset %d", c, keeps, last.Key, last.Offset)
				}
				v, _ := c.Marshal()
				rec := Decode([]byte(c.RecordKey()), v, 0, 100, time.Unix(100, 0))
				rec.Keeps = keeps
				if got, msg := g.Apply(rec); got != contract.ControlOK || msg != Unchanged {
					t.Fatalf("the keeper folds as %s (%s), want ok, unchanged", got, msg)
				}
				if n := Fold([]Record{rec}).Len(); n != 0 {
					t.Errorf("the keeper alone folds to %d rules", n)
				}
				return
			}
			v, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			rec := Decode([]byte(c.RecordKey()), v, 0, 100, time.Unix(100, 0))
			if keeps != nil {
				o, ok := ParseOrigin(keeps.String()) // as the reader decodes HeaderKeeps
				if !ok {
					t.Fatalf("origin %q does not parse", keeps)
				}
				rec.Keeps = &o
			}
			before := g.Versions()
			if got, msg := g.Apply(rec); got != contract.ControlOK || (c.Kind() == rule.KindRule && msg != Unchanged) {
				t.Fatalf("the keeper folds as %s (%s), want ok, unchanged", got, msg)
			}
			if after := g.Versions(); !slices.Equal(before, after) {
				t.Errorf("the keeper changed the active versions")
			}
			compacted := Fold([]Record{rec})
			if c.Kind() != rule.KindRule {
				if ds := compacted.Destinations(); len(ds) != 1 || ds[0].URL != "https://example.com/hook" {
					t.Errorf("the keeper alone folds to destinations %+v", ds)
				}
				return
			}
			vs := compacted.Versions()
			if len(vs) != 1 || fmt.Sprintf("%s@%d:%s", vs[0].Key, vs[0].Rule.Version, vs[0].Rule.When.Path) != tc.want ||
				vs[0].Fingerprint != before[0].Fingerprint || vs[0].ControlOffset != before[0].ControlOffset || !vs[0].UpdatedAt.Equal(before[0].UpdatedAt) {
				t.Errorf("the keeper alone folds to %+v, want %s with the identity of %+v (offset, fingerprint, time)", vs[0], tc.want, before[0])
			}
		})
	}
}

// TestKeeperOfNothingDeletesNothing: the Keeper of a key that held nothing is a delete
// that deletes nothing. A rule made under the key before the keeper lands (published
// between the record kept and it) stays, and the keeper, not applied, gets that
// rule's Keeper in turn.
func TestKeeperOfNothingDeletesNothing(t *testing.T) {
	g := NewRegistry()
	rejected := Decode([]byte("*/n"), upsert("n", "*", 1, "$.n["), 0, 0, time.Unix(0, 0))
	if got, _ := g.Apply(rejected); got != contract.ControlInvalid {
		t.Fatalf("the invalid upsert: %s", got)
	}
	c, keeps, _ := g.Keeper(rejected, nil)
	if got, _ := g.Apply(Decode([]byte("*/n"), upsert("n", "*", 1, "$.n"), 0, 1, time.Unix(1, 0))); got != contract.ControlOK {
		t.Fatalf("the valid upsert: %s", got)
	}
	v, _ := c.Marshal()
	rec := Decode([]byte(c.RecordKey()), v, 0, 2, time.Unix(2, 0))
	rec.Keeps = keeps
	if got, msg := g.Apply(rec); got != contract.ControlStale || g.Len() != 1 {
		t.Fatalf("the keeper of nothing after a rule was made: %s (%s), %d rules; want stale, the rule kept", got, msg, g.Len())
	}
	if k, _, _ := g.Keeper(rec, nil); k == nil || k.Op != rule.OpUpsert || k.Rule.When.Path != "$.n" {
		t.Errorf("the stale keeper's own keeper: %+v, want the rule's upsert", k)
	}
}
