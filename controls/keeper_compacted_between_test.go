package controls

import (
	"fmt"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
)

// TestCompactionBetweenARecordAndItsKeeperFoldsTheKeeper: Kafka compacts the controls
// topic below any point its cleaner reaches, which may fall between a record the fold
// did not apply and the Keeper written right after it: the record is kept (the newest
// of its key below that point), the upsert or delete that made it not apply is not. A
// restart's fold then applied the record, and took the Keeper that follows it for
// stale (a delete Keeper "written before it was given something", an upsert Keeper of
// a version not newer): it ran the edit of a deleted rule, or a rule the daemon that
// ran through refused, for good. A Keeper written after the very change that its key's
// last change is, is what the writer's fold held instead of that change, and restores
// it.
func TestCompactionBetweenARecordAndItsKeeperFoldsTheKeeper(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  []simRec
	}{{
		name: "an edit of a deleted version, its Keeper a delete",
		log: []simRec{
			{key: "*/a", value: delVersion("*", "a", 1)},
			{key: "*/a", value: upsert("a", "*", 1, "$.x")}, // stale: the delete retired 1 and 2
		},
	}, {
		name: "the same version changed, its Keeper the version held",
		log: []simRec{
			{key: "*/a", value: upsert("a", "*", 2, "$.x")},
			{key: "*/a", value: upsert("a", "*", 2, "$.y")}, // stale: not newer
		},
	}} {
		whole, compacted := foldsAroundAKeeper(t, tc.name, tc.log)
		want, got := foldShown(whole), foldShown(compacted)
		if want != got {
			t.Errorf("%s: the fold of the whole log holds %s, of the topic compacted below the Keeper %s", tc.name, want, got)
		}
	}
}

// foldShown is the active rules of g, each by the identity a snapshot names it by.
func foldShown(g *Registry) string {
	s := "["
	for _, v := range g.Versions() {
		s += fmt.Sprintf(" %s v%d offset %d fp %x", v.Key, v.Rule.Version, v.ControlOffset, v.Fingerprint)
	}
	return s + " ]"
}

// foldsAroundAKeeper folds log (a record, then one the fold leaves stale) with the Keeper
// the stale one gets, whole and compacted below the Keeper's offset (the record kept,
// not what made it stale), as a restart after the cleaner stopped there folds it.
func foldsAroundAKeeper(t *testing.T, name string, log []simRec) (whole, compacted *Registry) {
	t.Helper()
	whole = NewRegistry()
	whole.Apply(propRecord(log[0], 0))
	rec := propRecord(log[1], 1)
	status, msg, room := whole.ApplyRoom(rec)
	if status != contract.ControlStale || !NeedsKeeper(rec, status, msg) {
		t.Fatalf("%s: the record not applied: %s %q", name, status, msg)
	}
	c, keeps, refused := whole.Keeper(rec, room)
	val, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	log = append(log, simRec{key: c.RecordKey(), value: val, keeps: keeps, after: new(int64(1)), depth: 1, refused: refused})
	whole.Apply(propRecord(log[2], 2))
	compacted = NewRegistry()
	for off := 1; off < len(log); off++ {
		compacted.Apply(propRecord(log[off], int64(off)))
	}
	return whole, compacted
}
