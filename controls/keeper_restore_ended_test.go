package controls

import (
	"fmt"
	"testing"
)

// resolving is an upsert of a rule that resolves its incidents (rule.Rule.Resolves),
// whose versions a change ends are remembered (Ended, EndedAfter).
func resolving(id string, version int64, path string) []byte {
	return fmt.Appendf(nil, `{"op":"upsert","rule":{"id":%q,"scope":"*","version":%d,"threshold":1,"when":{"path":%q},"window":{"size":"1m"},"alert":{"resolve":true}}}`, id, version, path)
}

// TestKeeperRestoringOverARecordCompactionKeptEndsNothingTheWholeLogRan: Kafka's
// cleaner stopped between a record the fold did not apply and its Keeper; a restart's
// fold applies the record, and the Keeper after it restores what the writer held
// (TestCompactionBetweenARecordAndItsKeeperFoldsTheKeeper). The version the record made
// there ran nowhere: the fold of the whole log never held it. It was remembered as
// ended by the restore, and a daemon resuming a partition without a snapshot (or with
// one older than the restore) replays every ended version over history to resolve the
// incidents it left open (live's EndedAfter): it resolved incidents of a rule no
// process ran, which, of another version 2 of the very rule, carry the running
// version's alert ids (contract.AlertID is made of the version, not of the rule's
// JSON), closing at the receivers an incident still firing.
func TestKeeperRestoringOverARecordCompactionKeptEndsNothingTheWholeLogRan(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  []simRec
	}{{
		name: "an edit of a deleted version, its Keeper a delete",
		log: []simRec{
			{key: "*/a", value: delVersion("*", "a", 1)},
			{key: "*/a", value: resolving("a", 1, "$.x")}, // stale: the delete retired 1 and 2
		},
	}, {
		name: "the same version changed, its Keeper the version held",
		log: []simRec{
			{key: "*/a", value: resolving("a", 2, "$.x")},
			{key: "*/a", value: resolving("a", 2, "$.y")}, // stale: not newer
		},
	}} {
		whole, compacted := foldsAroundAKeeper(t, tc.name, tc.log)
		if want, got := foldShown(whole), foldShown(compacted); want != got {
			t.Fatalf("%s: the fold of the whole log holds %s, of the compacted topic %s", tc.name, want, got)
		}
		if want, got := endedShown(whole), endedShown(compacted); want != got {
			t.Errorf("%s: the fold of the whole log ended %s, of the topic compacted below the Keeper %s", tc.name, want, got)
		}
	}
}

// endedShown is every ended version g remembers, by the identity a snapshot names it by.
func endedShown(g *Registry) string {
	s := "["
	for _, v := range g.EndedAfter(-1) {
		s += fmt.Sprintf(" %s v%d offset %d fp %x", v.Key, v.Rule.Version, v.ControlOffset, v.Fingerprint)
	}
	return s + " ]"
}
