package live

import (
	"testing"
	"time"
)

// TestSnapshotAgeCountsFromTheLatestSnapshot: a busy partition's state changes again
// as soon as each snapshot is stored, so every check sees it changed; its age without
// a snapshot is counted from when a check first saw it changed since the latest
// snapshot, not since the first one seen. Counted from the first, a partition storing
// snapshots on time went not ready once --max-snapshot-age had passed since then.
func TestSnapshotAgeCountsFromTheLatestSnapshot(t *testing.T) {
	t.Parallel()
	d := &Daemon{state: &stateStore{}, parts: map[int32]*partition{}}
	d.cfg.MaxSnapshotAge = time.Minute
	p := d.newPartition(0)
	d.parts[0] = p
	var r readiness
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// At each check the state has moved on past the snapshot stored last.
	check := func(snapAt, next int64, at time.Time) partitionProblems {
		p.mu.Lock()
		p.snaps.clean.offset, p.next = snapAt, next
		p.mu.Unlock()
		return r.snapshotProblems(d, at)[0]
	}
	if pp := check(10, 20, t0); pp.overAge || len(pp.notReady) != 0 {
		t.Fatalf("first check: %+v, want no problem", pp)
	}
	// A snapshot at 20 was stored 40 s later, and the state moved on to 30 since.
	if pp := check(20, 30, t0.Add(40*time.Second)); pp.overAge || len(pp.notReady) != 0 {
		t.Fatalf("check 40 s in: %+v, want no problem", pp)
	}
	// 80 s after the first check, 40 s after the new snapshot point was seen: under the
	// minute since the latest snapshot.
	if pp := check(20, 40, t0.Add(80*time.Second)); pp.overAge || len(pp.notReady) != 0 {
		t.Fatalf("check 80 s in, 40 s after the latest snapshot point was seen: %+v, want no problem", pp)
	}
	// And over the minute since it was seen, with no snapshot since: over age.
	if pp := check(20, 50, t0.Add(101*time.Second)); !pp.overAge || len(pp.notReady) != 1 {
		t.Fatalf("check 61 s after the latest snapshot point was seen: %+v, want over --max-snapshot-age", pp)
	}
}
