package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// compactableLake writes, through bkt, a lake of one partition of three small files (one
// hour), typed under cols (nil: none), listed by manifest v1; it returns the data
// objects' names.
func compactableLake(t *testing.T, bkt lakehouse.Bucket, cols *lakehouse.ColumnSet) map[string]bool {
	t.Helper()
	ctx := context.Background()
	hour := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	names := map[string]bool{}
	m := lakehouse.Manifest{Format: lakehouse.ManifestFormat, Version: 1, Topic: "events", Committed: time.Now().UTC(), Writer: "test"}
	var off int64
	for f := range 3 {
		var rs []lakehouse.Row
		for i := range 5 {
			rs = append(rs, lakehouse.Row{Partition: 0, Offset: off, EventTime: hour.Add(time.Duration(f*5+i) * time.Second),
				IngestTime: hour, Customer: fmt.Sprintf("c%d", i), Payload: `{"type":"login"}`})
			off++
		}
		data, e, err := lakehouse.EncodeRows(0, rs[0].Offset, rs, cols, true)
		if err != nil {
			t.Fatal(err)
		}
		e.Path = fmt.Sprintf("data/p=0000/h=2026-03-01T09/%020d-%020d-%08x.parquet", e.StartOffset, e.EndOffset, f)
		e.Bytes, e.Created = int64(len(data)), time.Now().UTC()
		if err := bkt.Put(ctx, e.Path, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		names[e.Path] = true
		m.Files = append(m.Files, e)
	}
	m.Partitions = []lakehouse.PartitionState{{Partition: 0, Watermark: off - 1, EarliestTime: hour}}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000001.json", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return names
}

// `--lake-max-columns` is "most JSONPaths typed in a file; past it the rest are read
// from the JSON", the same flag and help in live, archive and lake compact. For archive
// 0 typed no path (lakehouse.NewColumnSet(0)); for lake compact 0 was taken for "unset"
// (MaintenanceConfig.MaxColumns 0: DefaultMaxColumns, 32), which the help did not say:
// the merged files kept up to 32 typed paths. 0 types none in every command.
func TestLakeCompactMaxColumnsZero(t *testing.T) {
	t.Parallel()
	bkt, dir := lakehousetest.FileBucket(t)
	cols := lakehouse.NewColumnSet(4)
	if err := cols.Set([]string{"$.type"}); err != nil {
		t.Fatal(err)
	}
	compactableLake(t, bkt, cols)
	url := "file://" + dir
	out, err := run(t, "", "lake", "compact", "--lake", url, "--lake-max-columns", "0", "--json")
	if err != nil {
		t.Fatalf("lake compact: %v\n%s", err, out)
	}
	t.Logf("lake compact --lake-max-columns 0:\n%s", out)
	lake, err := lakehouse.OpenExistingLake(context.Background(), url, lakehouse.StorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) != 1 {
		t.Fatalf("%d files after compaction, want 1 merged", len(files))
	}
	if n := len(files[0].Columns); n != 0 {
		t.Errorf("the merged file types %d paths (%v) with --lake-max-columns 0; want 0, as archive takes it (or a usage error)", n, files[0].Columns)
	}
}

// The flag every command shares (live's config took 0 for its default too, 32 paths):
// 0 is none, negative is none, the default is 32.
func TestLakeMaxColumnsFlagZeroIsNone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want int
	}{{nil, 32}, {[]string{"--lake-max-columns", "0"}, -1}, {[]string{"--lake-max-columns", "-2"}, -2}, {[]string{"--lake-max-columns", "5"}, 5}} {
		f := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var n int
		addLakeMaxColumnsFlag(f, &n, "")
		if err := f.Parse(tc.args); err != nil || n != tc.want {
			t.Errorf("%v: %d (%v), want %d", tc.args, n, err, tc.want)
		}
	}
}

// README: "0 is the default where the help says so". lake compact's --delete-delay
// ("keep replaced files this long (negative: delete now)") and --compact-small-bytes
// ("files smaller than this are merged") did not say so, yet 0 is taken for unset
// (lakehouse.ArchiverConfig.EnsureDefaults): --delete-delay 0 keeps the replaced files
// 10 minutes, --compact-small-bytes 0 merges every file under 8 MiB. Their help says so.
func TestLakeCompactZeroFlags(t *testing.T) {
	t.Parallel()
	help, _ := run(t, "", "lake", "compact", "--help")
	t.Run("delete-delay", func(t *testing.T) {
		bkt, dir := lakehousetest.FileBucket(t)
		before := compactableLake(t, bkt, nil)
		out, err := run(t, "", "lake", "compact", "--lake", "file://"+dir, "--delete-delay", "0")
		if err != nil {
			t.Fatalf("lake compact: %v\n%s", err, out)
		}
		kept := 0
		for name := range before {
			if ok, _ := bkt.Exists(context.Background(), name); ok {
				kept++
			}
		}
		if kept > 0 && !strings.Contains(help, "this long (0: the default") {
			t.Errorf("--delete-delay 0 kept %d of the %d replaced files (the 10-minute default), and the help does not say 0 is the default:\n%s", kept, len(before), out)
		}
	})
	t.Run("compact-small-bytes", func(t *testing.T) {
		bkt, dir := lakehousetest.FileBucket(t)
		compactableLake(t, bkt, nil)
		out, err := run(t, "", "lake", "compact", "--lake", "file://"+dir, "--compact-small-bytes", "0")
		if err != nil {
			t.Fatalf("lake compact: %v\n%s", err, out)
		}
		if strings.HasPrefix(out, "compacted 3 files") && !strings.Contains(help, "are merged (0: the default") {
			t.Errorf("--compact-small-bytes 0 (files smaller than 0 bytes) merged files, and the help does not say 0 is the default: %s", out)
		}
	})
	t.Run("orphan-grace", func(t *testing.T) {
		if !strings.Contains(help, "older than this (0: the default)") {
			t.Errorf("--orphan-grace 0 is the default (an hour), and the help does not say so:\n%s", help)
		}
	})
}
