package lakehouse

import (
	"fmt"
	"testing"
	"time"
)

// TestCompactionGroupsAtTheirBounds: compaction merges files smaller than
// CompactSmallBytes (a file of exactly that size is left as it is, as the flag's
// documentation says) into groups whose merge is counted at most the target bytes (a
// group of exactly the target is one merge, not cut before its last file). No test held
// a file or a group at either bound (a mutation hunt): '>=' and '>' could be swapped
// in compactionGroups unseen, merging files the operator set apart or leaving one
// more small file behind each group.
func TestCompactionGroupsAtTheirBounds(t *testing.T) {
	t.Parallel()
	const small = 1000
	h := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	file := func(start, size int64) FileEntry {
		return FileEntry{Path: dataName(0, h, start, start+9), Partition: 0, StartOffset: start, EndOffset: start + 9,
			Rows: 10, Bytes: size, RawBytes: size}
	}
	three := mergeBytes(3*(small-1), 30, 0) // three files of small-1 bytes, 10 rows each
	for _, tt := range []struct {
		name   string
		target int64
		files  []FileEntry
		want   [][]int64 // the groups, by their files' start offsets
	}{
		{"a file of the small size exactly parts its neighbours", 1 << 30,
			[]FileEntry{file(0, small-1), file(10, small), file(20, small-1)}, nil},
		{"files a byte under the small size merge", 1 << 30,
			[]FileEntry{file(0, small-1), file(10, small-1), file(20, small-1)}, [][]int64{{0, 10, 20}}},
		{"a merge of the target exactly is one group", three,
			[]FileEntry{file(0, small-1), file(10, small-1), file(20, small-1)}, [][]int64{{0, 10, 20}}},
		{"a merge a byte over the target is cut before its last file", three - 1,
			[]FileEntry{file(0, small-1), file(10, small-1), file(20, small-1)}, [][]int64{{0, 10}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mt := &maintainer{smallBytes: small, targetBytes: tt.target, maxColumns: 100}
			var got [][]int64
			for _, g := range mt.compactionGroups(&Manifest{Files: tt.files}, nil) {
				var starts []int64
				for _, f := range g {
					starts = append(starts, f.StartOffset)
				}
				got = append(got, starts)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("compaction groups by start offset %v; want %v", got, tt.want)
			}
		})
	}
}
