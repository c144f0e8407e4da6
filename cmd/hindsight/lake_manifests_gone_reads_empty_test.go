package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestLakeWithoutManifestsButDataReadsAsEmpty: a lake whose manifest objects are gone
// (a lifecycle rule, a copy of data/ alone, a mistaken cleanup) while its data files
// remain is shown by `lake ls` and `lake stats` as an empty lake, "0 files, manifest
// v0", "nothing stored yet", exit 0, without a word about the data objects, and
// backfill and backtest read it so too (no history). The same lake whose manifests are
// there but unreadable is refused with ErrUnreadableManifests, naming a stranded file;
// manifests missing altogether deserve as much.
func TestLakeWithoutManifestsButDataReadsAsEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt, dir := lakehousetest.FileBucket(t)
	lakehousetest.SmallFilesLake(t, bkt, 2, 3, 5, nil)
	if err := bkt.Delete(ctx, "manifest/v000000000001.json"); err != nil {
		t.Fatal(err)
	}
	// Written an hour ago: data files a few seconds old without a manifest are a new
	// lake's first commit on its way as much as missing manifests, and read as empty.
	old := time.Now().Add(-time.Hour)
	if err := filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, old, old)
	}); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"ls", "stats"} {
		t.Run(cmd, func(t *testing.T) {
			out, err := run(t, "", "lake", cmd, "--lake", "file://"+dir)
			if err == nil && !strings.Contains(out, "data/p=") {
				t.Errorf("lake %s over 6 data files and no manifest exited 0 and shows an empty lake:\n%s", cmd, out)
			}
		})
	}
	lake := lakehouse.NewLake(bkt, nil)
	snap, err := lake.Snapshot(ctx)
	if err == nil {
		t.Errorf("Snapshot of a lake holding 6 data files and no manifest: no error, version %d, %d files", snap.Version(), len(snap.Files(lakehouse.Filter{})))
	}
}
