package controls

import (
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// TestKeeperChainRacingAPublisherKeepsTheNewestVersionAfterCompaction: one daemon, one
// publisher (a script or the console applying a rule's new versions one after
// another). A control the daemon does not apply (invalid) is followed by its Keeper;
// each Keeper lands just after the publisher's next control of the key, so it is stale
// there (KeeperAfter) and the daemon writes a Keeper of what the key holds in turn. The
// fourth such Keeper is at MaxKeeperDepth: stale, it is answered by none, and stays
// the newest record of its key. The daemon runs what the publisher's last control left
// (version 5, or no rule after a delete); compaction keeps that last Keeper alone, of
// version 4, and a fold of the compacted topic (a restart, another process) applies
// it: the rule's version goes down, or the deleted rule comes back.
func TestKeeperChainRacingAPublisherKeepsTheNewestVersionAfterCompaction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		lastDelete bool
	}{{"last control an upsert of version 5", false}, {"last control a delete", true}} {
		t.Run(tc.name, func(t *testing.T) {
			const key = "*/r1"
			running := NewRegistry()
			var log, pending []simRec
			publish := func(r simRec) {
				off := int64(len(log))
				log = append(log, r)
				cr := Decode([]byte(r.key), r.value, 0, off, time.Unix(off, 0))
				cr.Keeps, cr.KeeperAfter, cr.KeeperDepth, cr.RefusedAt = r.keeps, r.after, r.depth, r.refused
				status, msg, room := running.ApplyRoom(cr)
				if !NeedsKeeper(cr, status, msg) { // as live.Daemon.keep decides
					return
				}
				c, keeps, refused := running.Keeper(cr, room)
				if c == nil {
					t.Fatalf("offset %d: no Keeper", off)
				}
				val, err := c.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				// Written now, the Keeper reaches the topic after the publisher's next
				// control.
				pending = append(pending, simRec{key: c.RecordKey(), value: val, keeps: keeps, after: &off, depth: cr.KeeperDepth + 1, refused: refused})
			}
			publish(simRec{key: key, value: upsert("r1", "*", 1, "$.a")})
			publish(simRec{key: key, value: []byte(`{"op":"upsert","rule":{"id":"r1","scope":"*","version":2,"threshold":1,"when":{"path":"$["}}}`)}) // invalid
			// The publisher's controls are versions 2 to 5 (or 2 to 4 and a delete), one
			// just before each Keeper up to the one at MaxKeeperDepth; the Keepers after
			// that find no control ahead of them (a publisher racing every Keeper for
			// ever is answered by a Keeper for every control it publishes).
			for v := int64(2); len(pending) > 0; v++ {
				k := pending[0]
				pending = pending[1:]
				switch {
				case k.depth > MaxKeeperDepth:
				case tc.lastDelete && k.depth == MaxKeeperDepth:
					publish(simRec{key: key, value: del("*", "r1")})
				default:
					publish(simRec{key: key, value: upsert("r1", "*", v, fmt.Sprintf("$.v%d", v))})
				}
				publish(k)
				if len(log) > 100 {
					t.Fatalf("the controls topic holds %d records and is still growing", len(log))
				}
			}
			want := int64(0) // no rule
			if r, ok := running.Get(rule.Key{Scope: "*", ID: "r1"}); ok {
				want = r.Version
			}
			all := make([]int, len(log))
			for i := range all {
				all[i] = i
			}
			for _, fold := range []struct {
				name string
				offs []int
			}{{"the whole topic", all}, {"the compacted topic", compactSim(log)}} {
				got := int64(0)
				if r, ok := foldSim(log, fold.offs).Get(rule.Key{Scope: "*", ID: "r1"}); ok {
					got = r.Version
				}
				if got != want {
					for i, r := range log {
						t.Logf("offset %d: %s after=%v depth=%d", i, r.value, deref(r.after), r.depth)
					}
					t.Errorf("a fold of %s holds r1 version %d (0: none); the daemon that wrote it holds version %d", fold.name, got, want)
				}
			}
		})
	}
}
