package controls

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestKeeperOfARefusalOfRoomIsTheUpsertMarked: an upsert refused for room under a key
// that holds nothing is kept by itself, marked with the limit and its value (a delete,
// left the newest once compaction ran, deleted the rule for every later start,
// whatever the limit: TestLoweredMaxRulesRestartDeletesNoRule in live).
func TestKeeperOfARefusalOfRoomIsTheUpsertMarked(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	setLimits(t, 1, 1000)
	g := NewRegistry()
	at := time.Unix(10, 0).UTC()
	for i, id := range []string{"a", "b"} {
		status, msg, room := g.ApplyRoom(Decode([]byte("*/"+id), upsert(id, "*", 1, "$.x"), 0, int64(i), at))
		if id == "a" && (status != contract.ControlOK || room != nil) {
			t.Fatalf("*/a: %s %s (room %v)", status, msg, room)
		}
		if id == "b" {
			if status != contract.ControlInvalid || room == nil || *room != (RefusedAt{rule.LimitRules, 1}) {
				t.Fatalf("*/b past max_rules 1: %s %q, room %v; want invalid, max_rules=1", status, msg, room)
			}
			if !strings.Contains(msg, "a start under a higher one applies it") {
				t.Errorf("the refusal says %q, not that a start under a higher limit applies it", msg)
			}
			rec := Decode([]byte("*/b"), upsert("b", "*", 1, "$.x"), 0, 1, at)
			c, keeps, refused := g.Keeper(rec, room)
			if c == nil || c.Op != rule.OpUpsert || c.Rule.ID != "b" || refused == nil || refused.String() != "max_rules=1" || keeps == nil || keeps.Offset != 1 {
				t.Fatalf("keeper %+v (keeps %v, refused %v), want b's upsert keeping offset 1, refused at max_rules=1", c, keeps, refused)
			}
		}
	}
}

// TestFoldOfARefusalKept: the Keeper of an upsert refused for room, marked
// (HeaderRefusedAt), folds under the limit at its value or lower as refused, whatever
// room there is (a fold of the compacted topic must refuse it as the fold of the whole
// log did), and needs no Keeper; under a higher limit it is the upsert it carries,
// applied where there is room (with the identity of the upsert it keeps) and refused
// anew, with a new mark, where there is none. A mark that does not parse is none.
func TestFoldOfARefusalKept(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	kept := Origin{Offset: 3, Time: time.Unix(3, 0).UTC()}
	for _, tc := range []struct {
		name     string
		header   string
		maxRules int
		held     []string // rules active before the Keeper
		depth    int
		// want: the outcome; kept, a refusal as marked (no Keeper); refusedAnew, the
		// mark of the Keeper it needs ("" for none).
		want        string
		kept        bool
		refusedAnew string
	}{
		{name: "same limit, no room", header: "max_rules=2", maxRules: 2, held: []string{"a", "b"}, want: contract.ControlInvalid, kept: true},
		{name: "same limit, room made by deletes", header: "max_rules=2", maxRules: 2, want: contract.ControlInvalid, kept: true},
		{name: "lower limit", header: "max_rules=2", maxRules: 1, want: contract.ControlInvalid, kept: true},
		{name: "higher limit, room", header: "max_rules=2", maxRules: 3, held: []string{"a", "b"}, want: contract.ControlOK},
		{name: "higher limit, no room", header: "max_rules=2", maxRules: 3, held: []string{"a", "b", "d"}, want: contract.ControlInvalid, refusedAnew: "max_rules=3"},
		{name: "higher limit, no room, at the deepest Keeper", header: "max_rules=2", maxRules: 3, held: []string{"a", "b", "d"}, depth: MaxKeeperDepth, want: contract.ControlInvalid},
		{name: "malformed value: as none", header: "max_rules=two", maxRules: 2, held: []string{"a"}, want: contract.ControlOK},
		{name: "negative value: as none", header: "max_rules=-1", maxRules: 2, held: []string{"a"}, want: contract.ControlOK},
		{name: "unknown limit: as none", header: "max_things=2", maxRules: 2, held: []string{"a"}, want: contract.ControlOK},
		{name: "no value: as none", header: "max_rules", maxRules: 2, held: []string{"a"}, want: contract.ControlOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setLimits(t, tc.maxRules, 1000)
			g := NewRegistry()
			for i, id := range tc.held {
				if got, msg := g.Apply(Decode([]byte("*/"+id), upsert(id, "*", 1, "$.x"), 0, int64(i), time.Unix(int64(i), 0))); got != contract.ControlOK {
					t.Fatalf("*/%s: %s %s", id, got, msg)
				}
			}
			rec := Decode([]byte("*/c"), upsert("c", "*", 1, "$.c"), 0, 10, time.Unix(10, 0))
			after := int64(3)
			rec.Keeps, rec.KeeperAfter, rec.KeeperDepth = &kept, &after, max(tc.depth, 1)
			if at, ok := ParseRefusedAt(tc.header); ok { // as the reader decodes the header
				rec.RefusedAt = &at
			}
			status, msg, room := g.ApplyRoom(rec)
			if status != tc.want {
				t.Fatalf("folded as %s (%s), want %s", status, msg, tc.want)
			}
			if got := KeptRefusal(rec, status, msg); got != tc.kept {
				t.Errorf("KeptRefusal %v (%s), want %v", got, msg, tc.kept)
			}
			if tc.kept && !strings.Contains(msg, "max_rules 2") || tc.kept && !strings.Contains(msg, "a start under a higher one applies it") {
				t.Errorf("message %q: want the value that refused it, and that a start under a higher limit applies it", msg)
			}
			needs := NeedsKeeper(rec, status, msg)
			if want := tc.refusedAnew != ""; needs != want {
				t.Fatalf("NeedsKeeper %v, want %v", needs, want)
			}
			_, active := g.Version(rule.Key{Scope: "*", ID: "c"})
			if active != (status == contract.ControlOK) {
				t.Fatalf("*/c active %v after %s", active, status)
			}
			if active {
				v, _ := g.Version(rule.Key{Scope: "*", ID: "c"})
				if rec.RefusedAt != nil && (v.ControlOffset != kept.Offset || !v.UpdatedAt.Equal(kept.Time)) {
					t.Errorf("applied with identity %d@%s, want the upsert it keeps, %s", v.ControlOffset, v.UpdatedAt, kept)
				}
				return
			}
			if rejected := g.Rejected(); len(rejected) != 1 || rejected[0].Key != "*/c" {
				t.Errorf("rejected controls %+v, want *c's", rejected)
			}
			if !needs {
				return
			}
			c, keeps, refused := g.Keeper(rec, room)
			if c == nil || c.Op != rule.OpUpsert || c.Rule.When.Path != "$.c" || keeps == nil || *keeps != kept || refused == nil || refused.String() != tc.refusedAnew {
				t.Fatalf("keeper %+v (keeps %v, refused %v), want *c's upsert keeping %s, refused at %s", c, keeps, refused, kept, tc.refusedAnew)
			}
		})
	}
}

// TestFoldOfARefusalKeptOfADestination: a destination refused at max_destinations is
// kept by its upsert, marked; folded under the same limit it is refused with room
// free, under a higher one applied.
func TestFoldOfARefusalKeptOfADestination(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	dest := func(name string) []byte {
		return fmt.Appendf(nil, `{"op":"upsert","destination":{"scope":"*","name":%q,"type":"webhook","url":"https://hooks.example.com/%s"}}`, name, name)
	}
	setLimits(t, 10, 1)
	g := NewRegistry()
	if got, msg := g.Apply(Decode([]byte("destination:*/a"), dest("a"), 0, 0, time.Unix(0, 0))); got != contract.ControlOK {
		t.Fatalf("*/a: %s %s", got, msg)
	}
	refusedRec := Decode([]byte("destination:*/b"), dest("b"), 0, 1, time.Unix(1, 0))
	status, _, room := g.ApplyRoom(refusedRec)
	if status != contract.ControlInvalid || room == nil {
		t.Fatalf("*/b past max_destinations 1: %s, room %v", status, room)
	}
	c, keeps, refused := g.Keeper(refusedRec, room)
	if c == nil || c.Destination == nil || c.Destination.Name != "b" || keeps != nil || refused == nil || refused.String() != "max_destinations=1" {
		t.Fatalf("keeper %+v (keeps %v, refused %v), want b's upsert, refused at max_destinations=1", c, keeps, refused)
	}
	val, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	keeper := func() Record { // compaction kept it alone
		rec := Decode([]byte(c.RecordKey()), val, 0, 2, time.Unix(2, 0))
		after := int64(1)
		rec.KeeperAfter, rec.KeeperDepth = &after, 1
		at, ok := ParseRefusedAt(refused.String())
		if !ok {
			t.Fatalf("mark %q does not parse", refused)
		}
		rec.RefusedAt = &at
		return rec
	}
	if got, msg := NewRegistry().Apply(keeper()); got != contract.ControlInvalid || !KeptRefusal(keeper(), got, msg) {
		t.Errorf("under the same limit, no destination held: %s %q, want refused as kept", got, msg)
	}
	setLimits(t, 10, 2)
	fresh := NewRegistry()
	if got, msg := fresh.Apply(keeper()); got != contract.ControlOK || len(fresh.Destinations()) != 1 {
		t.Errorf("under a higher limit: %s %q, %d destinations; want ok, one", got, msg, len(fresh.Destinations()))
	}
}

func setLimits(t *testing.T, maxRules, maxDestinations int) {
	t.Helper()
	l := rule.CurrentLimits()
	l.MaxRules, l.MaxDestinations = maxRules, maxDestinations
	if err := rule.SetLimits(l); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteAfterARefusalOutlivesItsKeeper: an upsert refused for room, then its user's
// delete of the key (which holds nothing: not_found), then the refusal's Keeper, written
// after the delete by a daemon that folded the refusal first. The Keeper, the refused
// upsert marked, must be stale there and be followed by a delete: left the newest of
// its key, once compaction kept it alone, a start under a higher limit applied the rule
// its user had deleted (found by a review helper).
func TestDeleteAfterARefusalOutlivesItsKeeper(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	setLimits(t, 1, 1000)
	g := NewRegistry()
	at := time.Unix(10, 0).UTC()
	if got, msg := g.Apply(Decode([]byte("*/a"), upsert("a", "*", 1, "$.x"), 0, 0, at)); got != contract.ControlOK {
		t.Fatalf("*/a: %s %s", got, msg)
	}
	refused := Decode([]byte("*/b"), upsert("b", "*", 1, "$.x"), 0, 1, at)
	status, _, room := g.ApplyRoom(refused)
	if status != contract.ControlInvalid || room == nil {
		t.Fatalf("*/b past max_rules 1: %s, room %v", status, room)
	}
	if got, msg := g.Apply(Decode([]byte("*/b"), del("*", "b"), 0, 2, at)); got != contract.ControlNotFound {
		t.Fatalf("delete of */b: %s %s, want not_found", got, msg)
	}
	// The Keeper the daemon writes for the refusal, as the reader decodes it.
	c, keeps, mark := g.Keeper(refused, room)
	val, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	k := Decode([]byte("*/b"), val, 0, 3, at)
	after := int64(1)
	k.Keeps, k.KeeperAfter, k.KeeperDepth, k.RefusedAt = keeps, &after, 1, mark
	status, msg, room := g.ApplyRoom(k)
	if status != contract.ControlStale || !NeedsKeeper(k, status, msg) {
		t.Fatalf("the refusal's Keeper after the delete folded as %s (%s), needing a Keeper %v; want stale, needing one", status, msg, NeedsKeeper(k, status, msg))
	}
	if c, _, mark := g.Keeper(k, room); c == nil || c.Op != rule.OpDelete || mark != nil {
		t.Errorf("its Keeper is %+v (mark %v), want a delete of */b, unmarked", c, mark)
	}
}
