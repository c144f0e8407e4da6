package lakehouse

import (
	"testing"
	"time"
)

// TestBufferBudgetCountsRows: MaxBufferedBytes counted a file's raw JSON alone, so a
// file of small events held many times what it was counted as: 100,000 events of {}
// counted as 200 KB held 5.4 MB of row columns besides. The budget counts each row's
// columns too: the same file is over a budget of 1 MB.
func TestBufferBudgetCountsRows(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	b := newBatch(0, 0, now.Truncate(time.Hour), now)
	defer b.release()
	const rows = 100_000
	for i := range rows {
		b.add(int64(i), now.UnixMicro(), now.UnixMicro(), "c-1", []byte("{}"), true)
	}
	if got, want := b.heldBytes(), int64(2*rows+rows*heldRowBytes); got != want {
		t.Fatalf("heldBytes %d, want %d (raw %d and %d a row)", got, want, b.rawBytes(), heldRowBytes)
	}
	a := &archiver{cfg: ArchiverConfig{MaxBufferedBytes: 1 << 20}, parts: map[int32]*partState{0: {cur: b}}}
	if !a.overBudget() {
		t.Errorf("%d rows of {} (raw %d bytes, %d held) within a budget of 1 MiB", rows, b.rawBytes(), b.heldBytes())
	}
}
