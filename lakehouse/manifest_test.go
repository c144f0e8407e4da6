package lakehouse

import (
	"testing"
	"time"
)

// A manifest whose file says it lacks offsets out of its range, or out of order, is
// corrupt: readers would report missing history that is not.
func TestManifestValidatesDeletedRanges(t *testing.T) {
	for _, tc := range []struct {
		name    string
		deleted []OffsetRange
		ok      bool
	}{
		{"none", nil, true},
		{"the whole range", []OffsetRange{{0, 99}}, true},
		{"two in order", []OffsetRange{{10, 19}, {40, 40}}, true},
		{"before the file", []OffsetRange{{-1, 5}}, false},
		{"past the file", []OffsetRange{{90, 100}}, false},
		{"reversed", []OffsetRange{{20, 10}}, false},
		{"out of order", []OffsetRange{{40, 49}, {10, 19}}, false},
		{"overlapping", []OffsetRange{{10, 19}, {19, 25}}, false},
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
