package controls

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/rule"
)

// TestDeletedRuleStaysDeletedAcrossARestart: the user-visible promises of the fold, under
// one set of limits, whatever compaction left of the topic when a daemon restarts: a
// rule deleted stays deleted, and an edit of the deleted version saved by an editor who
// had not seen the delete (version 1 or 2 after a delete of version 1) is refused,
// landing before the restart or after it; the rule made again above it is taken. The
// topic is written by one or two daemons, one possibly of an older build whose delete
// Keepers carry no version, its Keeper landing after the other's (landing first after a
// refused edit, it loses the edit's refusal to a restart that compaction cut between
// them: the loss unseen accepts, see TestFoldOfTheCompactedTopicIsTheFoldOfTheWholeLog).
// With such a daemon, whose versionless Keeper is a delete without a version (any
// version after it taken), a later edit is taken or refused as the fold of the whole
// log does.
// Not parallel: it sets the process's rule limits.
func TestDeletedRuleStaysDeletedAcrossARestart(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	k := rule.Key{Scope: "*", ID: "a"}
	for _, procs := range [][]bool{{false}, {false, false}, {false, true}} {
		for _, edit := range []int64{1, 2} {
			var ds []*propProc
			for _, old := range procs {
				ds = append(ds, &propProc{g: NewRegistry(), limits: rule.DefaultLimits, old: old})
			}
			var log []simRec
			log = writeThrough(t, ds, log, simRec{key: k.String(), value: upsert("a", "*", 1, "$.x")})
			log = writeThrough(t, ds, log, simRec{key: k.String(), value: delVersion("*", "a", 1)})
			log = writeThrough(t, ds, log, simRec{key: k.String(), value: upsert("a", "*", edit, "$.y")})
			name := fmt.Sprintf("daemons (old build) %v, an edit at version %d", procs, edit)
			for at := 0; at <= len(log); at++ {
				for _, tombstones := range []bool{true, false} {
					g := propFold(t, log, compactedAt(log, at, tombstones), rule.DefaultLimits)
					if v, ok := g.Version(k); ok {
						t.Errorf("%s: a restart on the topic compacted below offset %d (tombstones %v) runs %s v%d made at offset %d, deleted at offset 1",
							name, at, tombstones, k, v.Rule.Version, v.ControlOffset)
						continue
					}
					end := int64(len(log))
					want := contract.ControlStale
					if procs[len(procs)-1] {
						whole := propFold(t, log, compactedAt(log, 0, true), rule.DefaultLimits)
						want, _ = whole.Apply(Decode([]byte(k.String()), upsert("a", "*", 2, "$.z"), 0, end, time.Unix(end, 0)))
					}
					if got, msg := g.Apply(Decode([]byte(k.String()), upsert("a", "*", 2, "$.z"), 0, end, time.Unix(end, 0))); got != want {
						t.Errorf("%s: after a restart on the topic compacted below offset %d (tombstones %v), an edit of version 1 at version 2: %s %q, want %s",
							name, at, tombstones, got, msg, want)
					}
					if got, msg := g.Apply(Decode([]byte(k.String()), upsert("a", "*", 3, "$.z"), 0, end+1, time.Unix(end+1, 0))); got != contract.ControlOK {
						t.Errorf("%s: after a restart on the topic compacted below offset %d (tombstones %v), the rule made again at version 3: %s %q, want ok",
							name, at, tombstones, got, msg)
					}
				}
			}
		}
	}
}
