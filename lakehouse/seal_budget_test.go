package lakehouse

import (
	"slices"
	"testing"
	"time"
)

// TestOverBudgetClosesTheBiggestFilesFirst: open files over MaxBufferedBytes are closed
// biggest first, and only until the rest fit: a budget one byte under the three files
// closes the biggest alone, one holding only the smallest closes the two others.
func TestOverBudgetClosesTheBiggestFilesFirst(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget func(held []int64) int64
		closed []int32
	}{
		{"one byte over", func(h []int64) int64 { return h[0] + h[1] + h[2] - 1 }, []int32{0}},
		{"room for the smallest", func(h []int64) int64 { return h[2] }, []int32{0, 1}},
		{"room for all", func(h []int64) int64 { return h[0] + h[1] + h[2] }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ArchiverConfig{Brokers: []string{"127.0.0.1:1"}, Bucket: NewMemBucket(), Columns: NewColumnSet(DefaultMaxColumns), RollBytes: 1 << 30}
			cfg.EnsureDefaults()
			a, err := newArchiver(cfg, cfg.Bucket)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(a.releaseAll)
			now := time.Now()
			var held []int64
			for p, rows := range []int{1000, 100, 10} { // partition 0 the biggest
				b := newBatch(int32(p), 0, now.Truncate(time.Hour), now)
				for i := range rows {
					b.add(int64(i), now.UnixMicro(), now.UnixMicro(), "c-1", []byte(`{"x":1}`), true)
				}
				a.parts[int32(p)] = &partState{cur: b, next: int64(rows), refusedTo: -1, covered: -1, cuNext: -1}
				held = append(held, b.heldBytes())
			}
			a.cfg.MaxBufferedBytes = tc.budget(held)
			a.mu.Lock()
			a.sealDueLocked(now)
			a.mu.Unlock()
			var closed []int32
			for _, b := range a.ready {
				closed = append(closed, b.partition)
			}
			slices.Sort(closed)
			if !slices.Equal(closed, tc.closed) {
				t.Errorf("files of partitions %v closed (held %v, budget %d); want %v", closed, held, a.cfg.MaxBufferedBytes, tc.closed)
			}
		})
	}
}
