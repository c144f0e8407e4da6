package lakehouse

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// TestMergeEndsWhereItsLastFileEnds: a file's range may run past its last row (offsets
// that held no event: transaction markers, records dead-lettered), and the file after
// it starts past that range. A merge covers the range of its group, not the rows: one
// ending at its last row leaves a gap before the next file, and its commit is refused.
func TestMergeEndsWhereItsLastFileEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hour := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	var d ArchiverConfig
	d.EnsureDefaults()
	opts := d.encodeOptions()
	bkt := NewMemBucket()
	var group []FileEntry
	for _, r := range [][2]int64{{0, 9}, {10, 14}} {
		var rows []Row
		for o := r[0]; o <= r[1]; o++ {
			rows = append(rows, Row{Offset: o, Customer: "c-1", EventTime: hour, IngestTime: hour, Payload: fmt.Sprintf(`{"n":%d}`, o)})
		}
		data, e, err := encodeRows(0, r[0], rows, nil, true, opts)
		if err != nil {
			t.Fatal(err)
		}
		e.Path = dataName(0, hour, r[0], r[1])
		if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		group = append(group, e)
	}
	group[1].EndOffset = 19 // offsets 15-19 held no event
	mt := &maintainer{bkt: bkt, log: slog.New(slog.DiscardHandler), bo: backoff{min: time.Millisecond, max: time.Millisecond, log: slog.New(slog.DiscardHandler)},
		enc: opts, now: time.Now}
	got, _, _, err := mt.merge(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if got.StartOffset != 0 || got.EndOffset != 19 || got.MaxOffset != 14 || got.Rows != 15 {
		t.Errorf("merged file covers [%d, %d], rows to %d, %d rows; want [0, 19], rows to 14, 15 rows", got.StartOffset, got.EndOffset, got.MaxOffset, got.Rows)
	}
}
