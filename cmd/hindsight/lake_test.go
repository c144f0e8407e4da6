package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/golden"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// manifestOnlyLake writes a lake that is one manifest and no data objects: `lake ls`
// and `lake stats` read nothing else, so their output is fixed to the byte.
func manifestOnlyLake(t *testing.T) (url string) {
	t.Helper()
	ctx := context.Background()
	bkt, dir := lakehousetest.FileBucket(t)
	url = "file://" + dir
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	file := func(p int32, hour string, start, end, rows, bytes, raw int64, from, to, minC, maxC string) lakehouse.FileEntry {
		return lakehouse.FileEntry{
			Path:      fmt.Sprintf("data/p=%04d/h=%s/%020d-%020d-0a1b2c3d.parquet", p, hour, start, end),
			Partition: p, StartOffset: start, EndOffset: end, MinOffset: start, MaxOffset: end, Rows: rows,
			Bytes: bytes, RawBytes: raw, MinTime: at(from), MaxTime: at(to), MinCustomer: minC, MaxCustomer: maxC,
			RowGroups: 1, Created: at("2026-03-01T12:00:00Z"),
		}
	}
	typed := func(f lakehouse.FileEntry, cols ...lakehouse.TypedColumn) lakehouse.FileEntry {
		f.Columns = cols
		return f
	}
	// lacking marks f's offsets from to as deleted by Kafka before they were archived.
	lacking := func(f lakehouse.FileEntry, from, to int64) lakehouse.FileEntry {
		f.Deleted = []lakehouse.OffsetRange{{From: from, To: to}}
		return f
	}
	m := lakehouse.Manifest{
		Format: lakehouse.ManifestFormat, Version: 7, Topic: "events", Committed: at("2026-03-01T12:00:00Z"), Writer: "test",
		Partitions: []lakehouse.PartitionState{
			{Partition: 0, Watermark: 2999, Earliest: 0, EarliestTime: at("2026-03-01T09:00:00Z")},
			{Partition: 1, Watermark: 1499, Earliest: 500, EarliestTime: at("2026-03-01T10:15:00Z"), DroppedTime: at("2026-03-01T10:14:59Z")},
			// Partition 2's files were dropped by retention; then dead letters came
			// (42–45), and no event since.
			{Partition: 2, Watermark: 41, Earliest: 42, EmptyAfter: 4},
		},
		Files: []lakehouse.FileEntry{
			typed(file(0, "2026-03-01T09", 0, 1999, 2000, 120<<20, 700<<20, "2026-03-01T09:00:00Z", "2026-03-01T09:59:59Z", "c-0001", "c-0099"),
				lakehouse.TypedColumn{Path: "$['type']", Name: lakehouse.TypedColumnName("$['type']"), Values: 2000},
				lakehouse.TypedColumn{Path: "$['actor']['id']", Name: lakehouse.TypedColumnName("$['actor']['id']"), Values: 1990, Untyped: 3}),
			typed(file(0, "2026-03-01T10", 2000, 2999, 1000, 50<<20, 290<<20, "2026-03-01T10:00:00Z", "2026-03-01T10:30:00Z", "c-0003", "c-0042"),
				lakehouse.TypedColumn{Path: "$['type']", Name: lakehouse.TypedColumnName("$['type']"), Values: 1000}),
			lacking(file(1, "2026-03-01T10", 500, 1499, 990, 30<<20, 250<<20, "2026-03-01T10:15:00Z", "2026-03-01T11:45:10Z", "c-0002", "c-0002"), 1000, 1009),
		},
		PendingDeletes: []lakehouse.PendingDelete{{Path: "data/p=0001/h=2026-03-01T09/00000000000000000000-00000000000000000499-ffffffff.parquet", RemovedAt: at("2026-03-01T11:00:00Z")}},
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000007.json", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return url
}

// TestLakeCommandsOutput pins the text `hindsight lake ls/stats/compact` print, table
// and JSON, to the byte.
func TestLakeCommandsOutput(t *testing.T) {
	t.Parallel()
	url := manifestOnlyLake(t)
	// An empty lake is a directory with nothing in it yet (a missing one is no lake).
	emptyDir := filepath.Join(t.TempDir(), "empty")
	if err := os.MkdirAll(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	empty := "file://" + emptyDir
	tests := []struct {
		name   string
		args   []string
		golden string // under testdata/
	}{
		{"stats table", []string{"lake", "stats", "--lake", url}, "lake/stats.txt"},
		{"stats json", []string{"lake", "stats", "--json", "--lake", url}, "lake/stats.json"},
		{"ls table", []string{"lake", "ls", "--lake", url}, "lake/ls.txt"},
		{"ls one partition", []string{"lake", "ls", "--lake", url, "--partition", "1"}, "lake/ls-partition-1.txt"},
		{"ls json by customer", []string{"lake", "ls", "--json", "--lake", url, "--customer", "c-0050"}, "lake/ls-customer.json"},
		{"stats of an empty lake", []string{"lake", "stats", "--lake", empty}, "lake/stats-empty.txt"},
		{"ls of an empty lake as json", []string{"lake", "ls", "--json", "--lake", empty}, "lake/ls-empty.json"},
		{"compact an empty lake", []string{"lake", "compact", "--lake", empty}, "lake/compact-empty.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, "", tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			golden.Check(t, tt.golden, []byte(out))
		})
	}
}

// TestLakeCompactCommand runs a maintenance pass over the manifest-only lake: nothing
// is small enough to merge, and the long-due pending delete leaves the manifest (its
// object was never there, so nothing counts as deleted).
func TestLakeCompactCommand(t *testing.T) {
	t.Parallel()
	url := manifestOnlyLake(t)
	for _, step := range []struct {
		args   []string
		golden string // under testdata/
	}{
		{[]string{"lake", "compact", "--lake", url}, "lake/compact-empty.txt"},
		{[]string{"lake", "stats", "--lake", url}, "lake/stats-after-compact.txt"},
	} {
		out, err := run(t, "", step.args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		golden.Check(t, step.golden, []byte(out))
	}
}
