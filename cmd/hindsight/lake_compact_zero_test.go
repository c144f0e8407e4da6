package main

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

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
	lakehousetest.SmallFilesLake(t, bkt, 1, 3, 5, cols)
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
		before := lakehousetest.SmallFilesLake(t, bkt, 1, 3, 5, nil)
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
		lakehousetest.SmallFilesLake(t, bkt, 1, 3, 5, nil)
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
