package controls

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
)

// TestKeeperOfANewerVersionNamesItByItsUpsert: processes folding under different
// limits hold different versions of a rule: one of a lower max_rules_bytes refused
// version 2 (offset 2) and held version 1, the other applied it. The latter's Keeper of
// version 2 (hindsight.keeps: offset 2) lands once room was made, and the first fold
// applies it over version 1: it named the version by the Keeper's own offset, while the
// fold that applied the upsert, and any fold of the Keeper alone (compaction kept it),
// name it by offset 2. A snapshot names a version by that offset and its fingerprint,
// and one taken by either process was not restored onto the other's version.
func TestKeeperOfANewerVersionNamesItByItsUpsert(t *testing.T) {
	at := time.Unix(1700000000, 0)
	kept := Origin{Offset: 2, Time: time.Unix(1700000002, 0).UTC()}
	keeper := Decode([]byte("*/x"), upsert("x", "*", 2, "$.y"), 0, 6, at.Add(6*time.Second))
	keeper.Keeps, keeper.KeeperAfter, keeper.KeeperDepth = &kept, new(int64(3)), 1
	held := NewRegistry()
	held.Apply(Decode([]byte("*/x"), upsert("x", "*", 1, "$.x"), 0, 1, at))
	alone := NewRegistry()
	for name, g := range map[string]*Registry{"the fold holding version 1": held, "a fold of the keeper alone": alone} {
		if got, msg := g.Apply(keeper); got != contract.ControlOK {
			t.Fatalf("%s: the keeper of version 2: %s %q", name, got, msg)
		}
		v, _ := g.Version(keeper.Control.Key())
		if v == nil || v.Rule.Version != 2 || v.ControlOffset != kept.Offset || !v.UpdatedAt.Equal(kept.Time) {
			t.Errorf("%s: version %+v, want version 2 named by the upsert it keeps (offset %d, %s)", name, v, kept.Offset, kept.Time)
		}
	}
}
