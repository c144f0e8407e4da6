package lakehouse

import (
	"fmt"
	"testing"
	"time"
)

// TestCompactionGroupsKeepToTheirHour: compaction merges a partition's consecutive
// small files of one event-time hour directory only, as the merged file is filed under
// its first file's hour. Merging across an hour boundary had no test (a mutation hunt:
// dropping the hour comparison from compactionGroups passed every lakehouse test), and
// then an hour's events were filed under the hour before.
func TestCompactionGroupsKeepToTheirHour(t *testing.T) {
	t.Parallel()
	h := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	file := func(hour time.Time, start int64) FileEntry {
		return FileEntry{Path: dataName(0, hour, start, start+9), Partition: 0, StartOffset: start, EndOffset: start + 9,
			Rows: 10, Bytes: 100, RawBytes: 100}
	}
	m := &Manifest{Files: []FileEntry{
		file(h, 0), file(h, 10), // hour 10
		file(h.Add(time.Hour), 20), file(h.Add(time.Hour), 30), file(h.Add(time.Hour), 40), // hour 11
		file(h.Add(2*time.Hour), 50), // hour 12, alone
	}}
	mt := &maintainer{smallBytes: 1 << 20, targetBytes: 1 << 30, maxColumns: 100}
	groups := mt.compactionGroups(m, nil)
	var got [][]int64
	for _, g := range groups {
		var starts []int64
		for _, f := range g {
			starts = append(starts, f.StartOffset)
		}
		got = append(got, starts)
	}
	want := [][]int64{{0, 10}, {20, 30, 40}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("compaction groups by start offset %v; want %v", got, want)
	}
}
