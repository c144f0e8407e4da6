package live

import (
	"context"
	"testing"
)

// TestCommitAtTheLogStartLacksNoHistory: with neither a snapshot nor backfill, a
// partition whose group committed an offset above the log's start says its counts lack
// the history below it; one whose commit is the log's start has no history below to
// lack (nothing the group counted is readable below it, and nothing readable is
// skipped), so it starts fresh, its counts not marked incomplete.
func TestCommitAtTheLogStartLacksNoHistory(t *testing.T) {
	t.Parallel()
	f := newStateFixture(t, 0)
	d := f.d
	d.log = d.cfg.Logger
	committed := &committedOffsets{at: map[int32]int64{0: 5, 1: 6}}
	if p := d.withoutSnapshot(context.Background(), 0, logBound{start: 5, end: 9, stable: 9}, &committed); p != nil {
		t.Errorf("commit at the log's start (5): a partition marked %q; want a fresh start (nil)", p.historyLost)
	}
	p := d.withoutSnapshot(context.Background(), 1, logBound{start: 5, end: 9, stable: 9}, &committed)
	if p == nil {
		t.Fatal("commit at 6, above the log's start (5): a fresh start (nil); want a partition whose counts say they lack history")
	}
	if p.historyLost == "" {
		t.Error("commit at 6, above the log's start (5): the partition does not say its counts lack history")
	}
}
