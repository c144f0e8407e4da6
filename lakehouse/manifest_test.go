package lakehouse

import (
	"testing"
	"time"
)

// A manifest whose file says it lacks offsets out of its range, or out of order, is
// corrupt: readers would report missing history that is not.
func TestManifestValidatesDeletedRanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		deleted []OffsetRange
		ok      bool
	}{
		{"none", nil, true},
		{"the whole range", []OffsetRange{{From: 0, To: 99}}, true},
		{"two in order", []OffsetRange{{From: 10, To: 19}, {From: 40, To: 40}}, true},
		{"before the file", []OffsetRange{{From: -1, To: 5}}, false},
		{"past the file", []OffsetRange{{From: 90, To: 100}}, false},
		{"reversed", []OffsetRange{{From: 20, To: 10}}, false},
		{"out of order", []OffsetRange{{From: 40, To: 49}, {From: 10, To: 19}}, false},
		{"overlapping", []OffsetRange{{From: 10, To: 19}, {From: 19, To: 25}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Manifest{Format: ManifestFormat, Version: 1,
				Partitions: []PartitionState{{Partition: 0, Watermark: 99, Earliest: 0}},
				Files: []FileEntry{{Path: dataName(0, time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), 0, 99), Partition: 0,
					StartOffset: 0, EndOffset: 99, Rows: 50, Deleted: tc.deleted}}}
			if err := m.validate(); (err == nil) != tc.ok {
				t.Errorf("validate: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestDroppedReaches: the offsets below a partition's first held one reach a time when
// retention dropped something that recent, or, with nothing dropped on record, when
// the first event held is that recent; unknown, they may.
func TestDroppedReaches(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name string
		st   PartitionState
		from time.Time
		want bool
	}{
		{"any time", PartitionState{Earliest: 10, DroppedTime: day(1), EarliestTime: day(5)}, time.Time{}, true},
		{"after what was dropped", PartitionState{Earliest: 10, DroppedTime: day(1), EarliestTime: day(5)}, day(2), false},
		{"at what was dropped", PartitionState{Earliest: 10, DroppedTime: day(1), EarliestTime: day(5)}, day(1), true},
		{"before what was dropped", PartitionState{Earliest: 10, DroppedTime: day(3), EarliestTime: day(5)}, day(2), true},
		{"never archived, after the first held", PartitionState{Earliest: 10, EarliestTime: day(5)}, day(6), false},
		{"never archived, before the first held", PartitionState{Earliest: 10, EarliestTime: day(5)}, day(4), true},
		{"nothing known", PartitionState{Earliest: 10}, day(4), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.st.DroppedReaches(tt.from); got != tt.want {
				t.Errorf("DroppedReaches(%v) of %+v = %v, want %v", tt.from, tt.st, got, tt.want)
			}
		})
	}
}
