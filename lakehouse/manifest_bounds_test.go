package lakehouse

import (
	"testing"
	"time"
)

// TestManifestValidatesFileEntries: a file entry with no rows, one of a partition the
// manifest keeps no state of, or one ending past its partition's watermark is corrupt:
// resuming archivers read from the watermark on, so offsets a file holds past it would
// be archived twice. A file ending at the watermark is fine.
func TestManifestValidatesFileEntries(t *testing.T) {
	t.Parallel()
	hour := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		partition int32
		end, rows int64
		ok        bool
	}{
		{"ending at the watermark", 0, 99, 50, true},
		{"no rows", 0, 99, 0, false},
		{"ending one past the watermark", 0, 100, 50, false},
		{"of a partition with no state", 1, 0, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Manifest{Format: ManifestFormat, Version: 1,
				Partitions: []PartitionState{{Partition: 0, Watermark: 99, Earliest: 0}},
				Files: []FileEntry{{Path: dataName(tc.partition, hour, 0, tc.end), Partition: tc.partition,
					StartOffset: 0, EndOffset: tc.end, Rows: tc.rows}}}
			if err := m.validate(); (err == nil) != tc.ok {
				t.Errorf("validate: %v, want ok %v", err, tc.ok)
			}
		})
	}
}
