package controls

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// TestKeepersOfDaemonsWithDifferentLimitsEndWithAPublisherRacingThem: two daemons of one
// deployment run with different --max-rules-bytes: the first holds version 1 of rule b
// and refuses every larger version for room, the second holds the newest. Each answers
// the other's Keeper of */b (an older version: stale; a larger one: refused for room)
// until the chain reaches MaxKeeperDepth. A publisher's new versions of b land just
// before the Keepers at that depth, making them stale in the second daemon's fold,
// which answers them whatever their depth (NeedsKeeper): the topic must still stop
// growing once the publisher stops, the Keepers answering Keepers capped as before.
// Not parallel: it sets the process's rule limits.
func TestKeepersOfDaemonsWithDifferentLimitsEndWithAPublisherRacingThem(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	small := rule.DefaultLimits
	small.MaxRuleBytes, small.MaxRulesBytes = 250, 250
	ds := []*simDaemon{{g: NewRegistry(), limits: small}, {g: NewRegistry(), limits: rule.DefaultLimits}}
	// Versions 2 and later take a and b past 250 bytes of JSON: refused for room by the
	// first daemon.
	large := "$.x" + strings.Repeat("y", 90)
	var log, pending []simRec
	answered := 0 // Keepers written for a Keeper at MaxKeeperDepth or deeper
	publish := func(r simRec) {
		off := int64(len(log))
		log = append(log, r)
		for _, d := range ds {
			if err := rule.SetLimits(d.limits); err != nil {
				t.Fatal(err)
			}
			cr := Decode([]byte(r.key), r.value, 0, off, time.Unix(off, 0))
			cr.Keeps, cr.KeeperAfter, cr.KeeperDepth, cr.RefusedAt = r.keeps, r.after, r.depth, r.refused
			status, msg, room := d.g.ApplyRoom(cr)
			if !NeedsKeeper(cr, status, msg) {
				continue
			}
			if c, keeps, refused := d.g.Keeper(cr, room); c != nil {
				val, err := c.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if cr.KeeperDepth >= MaxKeeperDepth {
					answered++
				}
				pending = append(pending, simRec{key: c.RecordKey(), value: val, keeps: keeps, after: &off, depth: cr.KeeperDepth + 1, refused: refused})
			}
		}
	}
	publish(simRec{key: "*/a", value: upsert("a", "*", 1, "$.x")})
	publish(simRec{key: "*/b", value: upsert("b", "*", 1, "$.x")})
	publish(simRec{key: "*/b", value: upsert("b", "*", 2, large)})
	const versions, most = 5, 400
	v := int64(2)
	for len(pending) > 0 && len(log) < most {
		k := pending[0]
		pending = pending[1:]
		if k.key == "*/b" && k.depth >= MaxKeeperDepth && v < versions {
			v++
			publish(simRec{key: "*/b", value: upsert("b", "*", v, large)})
		}
		publish(k)
	}
	if len(log) >= most {
		for i, r := range log[:40] {
			t.Logf("offset %d: %s after=%v depth=%d refused=%v: %s", i, r.key, deref(r.after), r.depth, r.refused, r.value)
		}
		t.Fatalf("the controls topic holds %d records and is still growing: two daemons' Keepers of */b answer each other without end", len(log))
	}
	if v != versions || answered == 0 {
		t.Fatalf("the publisher published up to version %d of %d, and %d Keepers at MaxKeeperDepth or deeper were answered: the race this test is about did not happen", v, versions, answered)
	}
	t.Logf("the topic ends at %d records; %d Keepers at MaxKeeperDepth or deeper answered", len(log), answered)
}
