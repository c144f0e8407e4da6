package lakehouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// TestManifestWithOverlappingFilesIsCorrupt: a partition's files follow one another,
// each starting at the offset after the previous one's end. A manifest read from the
// bucket whose files overlap (a record in two files, counted twice by every backfill
// and backtest) or leave a gap is refused as corrupt; one whose files follow is read.
func TestManifestWithOverlappingFilesIsCorrupt(t *testing.T) {
	t.Parallel()
	hour := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	file := func(start, end int64) FileEntry {
		return FileEntry{Path: dataName(0, hour, start, end), Partition: 0, StartOffset: start, EndOffset: end, Rows: end - start + 1,
			MinTime: hour, MaxTime: hour}
	}
	for i, tc := range []struct {
		name   string
		second FileEntry
		ok     bool
	}{
		{"following", file(10, 19), true},
		{"overlapping by one offset", file(9, 19), false},
		{"overlapping by half", file(5, 19), false},
		{"starting at the same offset", file(0, 19), false},
		{"a gap", file(11, 19), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			bkt, err := OpenBucket(ctx, "file://"+t.TempDir(), StorageConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer bkt.Close()
			v := int64(i + 1)
			m := Manifest{Format: ManifestFormat, Version: v,
				Partitions: []PartitionState{{Partition: 0, Watermark: 19, Earliest: 0}},
				Files:      []FileEntry{file(0, 9), tc.second}}
			data, err := json.Marshal(&m)
			if err != nil {
				t.Fatal(err)
			}
			if err := bkt.Put(ctx, manifestKey(v), bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			got, err := newManifestStore(bkt, slog.New(slog.DiscardHandler), "").read(ctx, v)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("read: %v, want the manifest", err)
			case tc.ok && len(got.Files) != 2:
				t.Fatalf("read %d files, want 2", len(got.Files))
			case !tc.ok && !errors.Is(err, ErrCorrupt):
				t.Fatalf("read: manifest %v, error %v; want ErrCorrupt (files [0, 9] and [%d, %d] of partition 0)", got != nil, err, tc.second.StartOffset, tc.second.EndOffset)
			}
		})
	}
}
