package controls

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

func delVersion(scope, id string, version int64) []byte {
	return fmt.Appendf(nil, `{"op":"delete","scope":%q,"id":%q,"version":%d}`, scope, id, version)
}

// TestSaveRacingADeleteDoesNotMakeTheRuleAgain: editor A deletes version 3 while editor
// B, whose edit began from version 3 and whose check ran before the delete was folded,
// saves version 4, which lands after the delete. The fold took "4 > deleted 3" and the
// rule came back: A's delete undone unsaid. The delete now names the version it
// deletes, and the fold refuses the edit of it (stale, saying which delete), in log
// order, on every fold alike; a compacted topic (the Keeper of the refused upsert left
// alone of its key) folds the same, and the rule made again, above the retired
// versions, is taken. A delete without a version keeps its meaning (any version after
// it is taken), and a delete of version 3 landing after version 4 deletes nothing.
func TestSaveRacingADeleteDoesNotMakeTheRuleAgain(t *testing.T) {
	k := rule.Key{Scope: "*", ID: "a"}
	fold := func(g *Registry, off int64, value []byte) (string, string) {
		return g.Apply(Decode([]byte(k.String()), value, 0, off, time.Unix(1700000000, 0)))
	}
	g := NewRegistry()
	fold(g, 0, upsert("a", "*", 3, "$.x"))
	if got, msg := fold(g, 1, delVersion("*", "a", 3)); got != contract.ControlOK {
		t.Fatalf("delete of version 3: %s %s", got, msg)
	}
	got, msg := fold(g, 2, upsert("a", "*", 4, "$.y"))
	if _, active := g.Get(k); active || got != contract.ControlStale ||
		!strings.Contains(msg, "deleted at offset 1 by a delete of version 3: version 4, not above 4, is an edit begun before that delete") {
		t.Fatalf("version 4 after the delete of version 3: %s %q, active %v; want stale, naming the delete, the rule still deleted", got, msg, active)
	}
	if v, _ := g.Retired(k); v != 4 {
		t.Errorf("retired %d after the delete of version 3, want 4 (what a new rule under the key must be above)", v)
	}

	// The Keeper the daemon writes after the refused upsert carries the delete's
	// version: compaction keeps it alone of its key, and its fold refuses the same.
	keeper, origin, _ := g.Keeper(Decode([]byte(k.String()), upsert("a", "*", 4, "$.y"), 0, 2, time.Unix(1700000000, 0)), nil)
	if keeper == nil || keeper.Op != rule.OpDelete || keeper.Version != 3 {
		t.Fatalf("keeper of the refused upsert: %+v, want a delete of version 3", keeper)
	}
	kv, err := keeper.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	compacted := NewRegistry()
	krec := Decode([]byte(k.String()), kv, 0, 3, time.Unix(1700000000, 0))
	krec.Keeps, krec.KeeperAfter = origin, new(int64(2))
	if got, msg := compacted.Apply(krec); got != contract.ControlOK {
		t.Fatalf("the keeper alone: %s %s", got, msg)
	}
	for _, h := range []*Registry{g, compacted} {
		if got, msg := fold(h, 4, upsert("a", "*", 4, "$.z")); got != contract.ControlStale {
			t.Errorf("version 4 again after the keeper: %s %q, want stale", got, msg)
		}
		if got, msg := fold(h, 5, upsert("a", "*", 5, "$.z")); got != contract.ControlOK {
			t.Errorf("the rule made again at version 5: %s %q, want ok", got, msg)
		}
	}

	// Written before deletes named a version: an upsert after one is taken as ever.
	old := NewRegistry()
	fold(old, 0, upsert("a", "*", 3, "$.x"))
	fold(old, 1, del("*", "a"))
	if got, msg := fold(old, 2, upsert("a", "*", 4, "$.y")); got != contract.ControlOK {
		t.Errorf("version 4 after a delete without a version: %s %q, want ok", got, msg)
	}

	// The other order: the save lands first, the delete of the version it replaced
	// after. Its publisher never saw version 4, which stays.
	h := NewRegistry()
	fold(h, 0, upsert("a", "*", 3, "$.x"))
	fold(h, 1, upsert("a", "*", 4, "$.y"))
	got, msg = fold(h, 2, delVersion("*", "a", 3))
	if v, active := h.Version(k); got != contract.ControlStale || !strings.Contains(msg, "version 4 of rule */a is active (made at offset 1), newer than version 3 this delete was for") {
		t.Errorf("delete of version 3 after version 4: %s %q (active %v %v), want stale, version 4 kept", got, msg, v, active)
	}
	if v, ok := h.Get(k); !ok || v.Version != 4 {
		t.Errorf("after the stale delete: %v %v, want version 4 active", v, ok)
	}
}

// TestDeleteVersionIsChecked: only a rule's delete carries a version, of 1 to 2^53; an
// upsert's version is its rule's. Each refused record is invalid, its problem on the
// field, and changes nothing.
func TestDeleteVersionIsChecked(t *testing.T) {
	for _, tc := range []struct{ key, value, field string }{
		{"*/a", `{"op":"delete","scope":"*","id":"a","version":-1}`, "version"},
		{"*/a", `{"op":"delete","scope":"*","id":"a","version":9007199254740993}`, "version"},
		{"mute:*/m", `{"op":"delete","kind":"mute","scope":"*","id":"m","version":2}`, "version"},
		{"*/a", `{"op":"upsert","version":2,"rule":{"id":"a","scope":"*","version":2,"threshold":1,"when":{"path":"$.x"}}}`, "scope/id"},
	} {
		rec := Decode([]byte(tc.key), []byte(tc.value), 0, 0, time.Unix(1700000000, 0))
		var ve *rule.ValidationError
		if rec.Err == nil || !errors.As(rec.Err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != tc.field {
			t.Errorf("%s: err %v, want one problem on %s", tc.value, rec.Err, tc.field)
		}
	}
	if rec := Decode([]byte("*/a"), delVersion("*", "a", 7), 0, 0, time.Unix(1700000000, 0)); rec.Err != nil || rec.Control.Version != 7 {
		t.Errorf("delete of version 7: %+v", rec)
	}
}
