package controls

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestStaleEditAdvisesAVersionAboveRetired: a rule deleted at version 9 without a
// version, made again at 3 (by a publisher that did not ask) and deleted at version 3:
// the edit of 3 landing after is refused, and the version it advises making the rule
// again at is above what Retired answers (10), which `rules apply` and the console hold
// a new rule to. It advised 5, a version both then refuse.
func TestStaleEditAdvisesAVersionAboveRetired(t *testing.T) {
	k := rule.Key{Scope: "*", ID: "a"}
	fold := func(g *Registry, off int64, value []byte) (string, string) {
		return g.Apply(Decode([]byte(k.String()), value, 0, off, time.Unix(1700000000, 0)))
	}
	g := NewRegistry()
	fold(g, 0, upsert("a", "*", 9, "$.x"))
	fold(g, 1, []byte(`{"op":"delete","scope":"*","id":"a"}`))
	fold(g, 2, upsert("a", "*", 3, "$.x"))
	if got, msg := fold(g, 3, delVersion("*", "a", 3)); got != contract.ControlOK {
		t.Fatalf("delete of version 3: %s %s", got, msg)
	}
	retired, _ := g.Retired(k)
	got, msg := fold(g, 4, upsert("a", "*", 4, "$.y"))
	if want := fmt.Sprintf("make the rule again at version %d or above", retired+1); got != contract.ControlStale || !strings.Contains(msg, want) {
		t.Errorf("version 4 after the delete of version 3 (retired %d): %s %q; want stale advising %q", retired, got, msg, want)
	}
}
