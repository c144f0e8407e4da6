package controls

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// simDaemon is one `hindsight live` daemon as far as the controls topic goes: its
// fold (with its own limits) and the Keepers it writes (NeedsKeeper, Keeper, as
// live/rules.go's keep and writeKeeper). Daemons of one test process share the rule
// limits (rule.SetLimits), so the simulation sets each daemon's before its folds.
type simDaemon struct {
	g      *Registry
	limits rule.Limits
}

type simRec struct {
	key   string
	value []byte
	keeps *Origin
	after *int64
	depth int
	// refused is the mark of a Keeper of an upsert refused for room (HeaderRefusedAt).
	refused *RefusedAt
}

// simTopic folds log through the daemons, appending the Keepers each writes (as
// live.Daemon.keep does once loaded), until no more are written or max records are on
// the topic; it returns the topic.
func simTopic(t *testing.T, ds []*simDaemon, log []simRec, max int) []simRec {
	t.Helper()
	defer rule.SetLimits(rule.CurrentLimits())
	for off := 0; off < len(log) && len(log) < max; off++ {
		r := log[off]
		for _, d := range ds {
			if err := rule.SetLimits(d.limits); err != nil {
				t.Fatal(err)
			}
			cr := Decode([]byte(r.key), r.value, 0, int64(off), time.Unix(int64(off), 0))
			cr.Keeps, cr.KeeperAfter, cr.KeeperDepth, cr.RefusedAt = r.keeps, r.after, r.depth, r.refused
			status, msg, room := d.g.ApplyRoom(cr)
			if !NeedsKeeper(cr, status, msg) { // as live.Daemon.keep decides
				continue
			}
			if c, keeps, refused := d.g.Keeper(cr, room); c != nil {
				val, err := c.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				after := int64(off)
				log = append(log, simRec{key: c.RecordKey(), value: val, keeps: keeps, after: &after, depth: cr.KeeperDepth + 1, refused: refused})
			}
		}
	}
	return log
}

// propRecord is r as a process reads it at off (offset = seconds, as simTopic).
func propRecord(r simRec, off int64) Record {
	cr := Decode([]byte(r.key), r.value, 0, off, time.Unix(off, 0))
	cr.Keeps, cr.KeeperAfter, cr.KeeperDepth, cr.RefusedAt = r.keeps, r.after, r.depth, r.refused
	return cr
}
