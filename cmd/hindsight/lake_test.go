package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

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
	m := lakehouse.Manifest{
		Format: lakehouse.ManifestFormat, Version: 7, Topic: "events", Committed: at("2026-03-01T12:00:00Z"), Writer: "test",
		Partitions: []lakehouse.PartitionState{
			{Partition: 0, Watermark: 2999, Earliest: 0, EarliestTime: at("2026-03-01T09:00:00Z")},
			{Partition: 1, Watermark: 1499, Earliest: 500, EarliestTime: at("2026-03-01T10:15:00Z")},
			{Partition: 2, Watermark: 41, Earliest: 42},
		},
		Files: []lakehouse.FileEntry{
			file(0, "2026-03-01T09", 0, 1999, 2000, 120<<20, 700<<20, "2026-03-01T09:00:00Z", "2026-03-01T09:59:59Z", "c-0001", "c-0099"),
			file(0, "2026-03-01T10", 2000, 2999, 1000, 50<<20, 290<<20, "2026-03-01T10:00:00Z", "2026-03-01T10:30:00Z", "c-0003", "c-0042"),
			file(1, "2026-03-01T10", 500, 1499, 990, 30<<20, 250<<20, "2026-03-01T10:15:00Z", "2026-03-01T11:45:10Z", "c-0002", "c-0002"),
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
	url := manifestOnlyLake(t)
	empty := "file://" + filepath.Join(t.TempDir(), "empty")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"stats table", []string{"lake", "stats", "--lake", url}, statsTable},
		{"stats json", []string{"lake", "stats", "--json", "--lake", url}, statsJSON},
		{"ls table", []string{"lake", "ls", "--lake", url}, lsTable},
		{"ls one partition", []string{"lake", "ls", "--lake", url, "--partition", "1"}, lsPartition1},
		{"ls json by customer", []string{"lake", "ls", "--json", "--lake", url, "--customer", "c-0050"}, lsCustomerJSON},
		{"stats of an empty lake", []string{"lake", "stats", "--lake", empty}, emptyStats},
		{"ls of an empty lake as json", []string{"lake", "ls", "--json", "--lake", empty}, emptyLsJSON},
		{"compact an empty lake", []string{"lake", "compact", "--lake", empty}, compactedNothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, "", tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if out != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s", out, tt.want)
			}
		})
	}
}

// TestLakeCompactCommand runs a maintenance pass over the manifest-only lake: nothing
// is small enough to merge, and the long-due pending delete leaves the manifest (its
// object was never there, so nothing counts as deleted).
func TestLakeCompactCommand(t *testing.T) {
	url := manifestOnlyLake(t)
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"lake", "compact", "--lake", url}, compactedNothing},
		{[]string{"lake", "stats", "--lake", url}, statsAfterCompact},
	} {
		out, err := run(t, "", step.args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if out != step.want {
			t.Errorf("%v: output:\n%s\nwant:\n%s", step.args, out, step.want)
		}
	}
}

const statsTable = "  partition  files  rows      bytes   raw bytes  ratio  watermark  earliest         earliest time           latest time\n" +
	"          0      2  3000  178257920  1038090240   5.8x       2999         0  2026-03-01T09:00:00Z  2026-03-01T10:30:00Z\n" +
	"          1      1   990   31457280   262144000   8.3x       1499       500  2026-03-01T10:15:00Z  2026-03-01T11:45:10Z\n" +
	"          2      0     0          0           0   0.0x         41        42                     -                     -\n" +
	"      total      3  3990  209715200  1300234240   6.2x                                                                 \n" +
	"manifest v7, 1 replaced files awaiting deletion; compression 6.20x smaller than the raw JSON\n"

const statsJSON = `{
  "version": 7,
  "files": 3,
  "rows": 3990,
  "bytes": 209715200,
  "raw_bytes": 1300234240,
  "compression_ratio": 6.2,
  "partitions": [
    {
      "partition": 0,
      "watermark": 2999,
      "earliest": 0,
      "earliest_time": "2026-03-01T09:00:00Z",
      "files": 2,
      "rows": 3000,
      "bytes": 178257920,
      "raw_bytes": 1038090240,
      "min_time": "2026-03-01T09:00:00Z",
      "max_time": "2026-03-01T10:30:00Z"
    },
    {
      "partition": 1,
      "watermark": 1499,
      "earliest": 500,
      "earliest_time": "2026-03-01T10:15:00Z",
      "files": 1,
      "rows": 990,
      "bytes": 31457280,
      "raw_bytes": 262144000,
      "min_time": "2026-03-01T10:15:00Z",
      "max_time": "2026-03-01T11:45:10Z"
    },
    {
      "partition": 2,
      "watermark": 41,
      "earliest": 42,
      "files": 0,
      "rows": 0,
      "bytes": 0,
      "raw_bytes": 0
    }
  ],
  "pending_deletes": 1
}
`

const lsTable = `  partition  start   end  rows      bytes  ratio              min time              max time       customers                                                                                    path
          0      0  1999  2000  125829120   5.8x  2026-03-01T09:00:00Z  2026-03-01T09:59:59Z  c-0001..c-0099  data/p=0000/h=2026-03-01T09/00000000000000000000-00000000000000001999-0a1b2c3d.parquet
          0   2000  2999  1000   52428800   5.8x  2026-03-01T10:00:00Z  2026-03-01T10:30:00Z  c-0003..c-0042  data/p=0000/h=2026-03-01T10/00000000000000002000-00000000000000002999-0a1b2c3d.parquet
          1    500  1499   990   31457280   8.3x  2026-03-01T10:15:00Z  2026-03-01T11:45:10Z  c-0002..c-0002  data/p=0001/h=2026-03-01T10/00000000000000000500-00000000000000001499-0a1b2c3d.parquet
3 files, manifest v7
`

const lsPartition1 = `  partition  start   end  rows     bytes  ratio              min time              max time       customers                                                                                    path
          1    500  1499   990  31457280   8.3x  2026-03-01T10:15:00Z  2026-03-01T11:45:10Z  c-0002..c-0002  data/p=0001/h=2026-03-01T10/00000000000000000500-00000000000000001499-0a1b2c3d.parquet
1 files, manifest v7
`

const lsCustomerJSON = `{
  "version": 7,
  "files": [
    {
      "path": "data/p=0000/h=2026-03-01T09/00000000000000000000-00000000000000001999-0a1b2c3d.parquet",
      "partition": 0,
      "start_offset": 0,
      "end_offset": 1999,
      "min_offset": 0,
      "max_offset": 1999,
      "rows": 2000,
      "bytes": 125829120,
      "raw_bytes": 734003200,
      "min_time": "2026-03-01T09:00:00Z",
      "max_time": "2026-03-01T09:59:59Z",
      "min_customer": "c-0001",
      "max_customer": "c-0099",
      "row_groups": 1,
      "created": "2026-03-01T12:00:00Z"
    }
  ]
}
`

const emptyStats = "  partition  files  rows  bytes  raw bytes  ratio  watermark  earliest  earliest time  latest time\n" +
	"      total      0     0      0          0   0.0x                                                 \n" +
	"manifest v0, 0 replaced files awaiting deletion; compression 0.00x smaller than the raw JSON\n"

const emptyLsJSON = `{
  "version": 0,
  "files": null
}
`

const compactedNothing = `compacted 0 files into 0, expired 0, deleted 0 objects, 0 corrupt files, 0 foreign objects
`

const statsAfterCompact = "  partition  files  rows      bytes   raw bytes  ratio  watermark  earliest         earliest time           latest time\n" +
	"          0      2  3000  178257920  1038090240   5.8x       2999         0  2026-03-01T09:00:00Z  2026-03-01T10:30:00Z\n" +
	"          1      1   990   31457280   262144000   8.3x       1499       500  2026-03-01T10:15:00Z  2026-03-01T11:45:10Z\n" +
	"          2      0     0          0           0   0.0x         41        42                     -                     -\n" +
	"      total      3  3990  209715200  1300234240   6.2x                                                                 \n" +
	"manifest v8, 0 replaced files awaiting deletion; compression 6.20x smaller than the raw JSON\n"
