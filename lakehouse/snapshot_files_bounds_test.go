package lakehouse

import (
	"slices"
	"testing"
	"time"
)

// TestSnapshotFilesKeepsTheirBounds: Filter's bounds are inclusive but TimeTo: a file
// whose first offset is MaxOffset, whose last is MinOffset, or whose newest event is
// at TimeFrom holds rows a reader asked for and is kept; one whose oldest event is at
// TimeTo holds none and is pruned. Pruned at a bound, a backfill or hand-off misses the
// rows there.
func TestSnapshotFilesKeepsTheirBounds(t *testing.T) {
	t.Parallel()
	at := func(min int) time.Time { return time.Date(2026, 12, 3, 10, min, 0, 0, time.UTC) }
	file := func(start int64) FileEntry {
		end := start + 9
		return FileEntry{Path: dataName(0, at(0), start, end), Partition: 0, StartOffset: start, EndOffset: end,
			MinOffset: start, MaxOffset: end, Rows: 10, MinTime: at(int(start)), MaxTime: at(int(end))}
	}
	snap := &Snapshot{m: &Manifest{Format: ManifestFormat, Version: 1,
		Partitions: []PartitionState{{Partition: 0, Watermark: 29}},
		Files:      []FileEntry{file(0), file(10), file(20)}}}
	for _, tc := range []struct {
		name   string
		filter Filter
		starts []int64
	}{
		{"MaxOffset at a file's first offset", Filter{MaxOffset: map[int32]int64{0: 10}}, []int64{0, 10}},
		{"MinOffset at a file's last offset", Filter{MinOffset: map[int32]int64{0: 19}}, []int64{10, 20}},
		{"TimeFrom at a file's newest event", Filter{TimeFrom: at(19)}, []int64{10, 20}},
		{"TimeTo at a file's oldest event", Filter{TimeTo: at(20)}, []int64{0, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var starts []int64
			for _, f := range snap.Files(tc.filter) {
				starts = append(starts, f.StartOffset)
			}
			if !slices.Equal(starts, tc.starts) {
				t.Errorf("files starting at %v, want %v", starts, tc.starts)
			}
		})
	}
}
