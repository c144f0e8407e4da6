package controls

import (
	"testing"

	"github.com/hindsightdev/hindsight/rule"
)

// writeThrough appends r to log and folds it through ds in order, each process's Keeper
// (NeedsKeeper, Keeper, as live.Daemon.keep; an old one's delete Keeper without a
// version) appended right after it and folded in turn.
func writeThrough(t *testing.T, ds []*propProc, log []simRec, r simRec) []simRec {
	t.Helper()
	pending := []simRec{r}
	for len(pending) > 0 {
		r, pending = pending[0], pending[1:]
		off := int64(len(log))
		log = append(log, r)
		for _, d := range ds {
			setPropLimits(t, d.limits)
			cr := propRecord(r, off)
			status, msg, room := d.g.ApplyRoom(cr)
			if !NeedsKeeper(cr, status, msg) {
				continue
			}
			if c, keeps, refused := d.g.Keeper(cr, room); c != nil {
				if d.old && c.Op == rule.OpDelete {
					c.Version = 0
				}
				val, err := c.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				pending = append(pending, simRec{key: c.RecordKey(), value: val, keeps: keeps, after: new(off), depth: cr.KeeperDepth + 1, refused: refused})
			}
		}
	}
	return log
}

// TestMarkedRefusalKeeperOfARestoredRecordRestoresNothing: daemon A (default limits)
// and daemon B (max_rules 1, */o holding its room) fold the topic. Version 1 of */k is
// deleted by a delete of version 1; B, which refused version 1 for room, forgot that
// retirement past its max_rules (a delete of */p after). An edit of version 1 begun
// before the delete lands: A refuses it (stale, the delete's guard) and writes a delete
// Keeper of version 1; B refuses it for room and writes it marked. Compaction below A's
// Keeper keeps the edit and not the delete: a restart of A folds the edit, and A's
// Keeper restores the key holding nothing over it (unseen). B's marked Keeper of the
// same record then restored too (a sibling of a restore), skipping the guard, and the
// restart ran the edit of the deleted rule, which the fold of the whole log refuses (A's
// Keeper answering B's, a delete of a version retired, restores nothing): B's fold held
// nothing, so its Keeper is no view of what the key held instead. A marked refusal
// Keeper never restores. Not parallel: it sets the process's rule limits.
func TestMarkedRefusalKeeperOfARestoredRecordRestoresNothing(t *testing.T) {
	defer rule.SetLimits(rule.CurrentLimits())
	one := rule.DefaultLimits
	one.MaxRules = 1
	a := &propProc{g: NewRegistry(), limits: rule.DefaultLimits}
	b := &propProc{g: NewRegistry(), limits: one}
	ds := []*propProc{a, b}
	var log []simRec
	log = writeThrough(t, ds, log, simRec{key: "*/o", value: upsert("o", "*", 1, "$.o")})
	log = writeThrough(t, ds, log, simRec{key: "*/k", value: upsert("k", "*", 1, "$.a")})
	log = writeThrough(t, ds, log, simRec{key: "*/k", value: delVersion("*", "k", 1)})
	log = writeThrough(t, ds, log, simRec{key: "*/p", value: delVersion("*", "p", 1)})
	at := len(log)
	log = writeThrough(t, ds, log, simRec{key: "*/k", value: upsert("k", "*", 1, "$.b")})
	for i, r := range log {
		t.Logf("offset %d: %s after=%v depth=%d keeps=%v refused=%v: %s", i, r.key, deref(r.after), r.depth, r.keeps, r.refused, r.value)
	}
	if len(log) < at+3 || log[at+1].refused != nil || log[at+2].refused == nil || *log[at+2].after != int64(at) {
		t.Fatalf("want the edit at %d followed by A's Keeper and B's marked one, got %d records", at, len(log))
	}
	whole := foldShown(propFold(t, log, compactedAt(log, 0, true), rule.DefaultLimits))
	if want := "[ */o v1 offset 0 fp "; len(whole) < len(want) || whole[:len(want)] != want || len(whole) > 40 {
		t.Fatalf("the fold of the whole log holds %s, want */o alone", whole)
	}
	compacted := foldShown(propFold(t, log, compactedAt(log, at+1, true), rule.DefaultLimits))
	if whole != compacted {
		t.Errorf("a restart of A: the fold of the whole log holds %s, of the topic compacted below A's Keeper %s", whole, compacted)
	}
}
