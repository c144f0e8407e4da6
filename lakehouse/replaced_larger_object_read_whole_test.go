package lakehouse_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestReadRowsOfLargerObjectReadsItWhole: the manifest records each data file's size
// (FileEntry.Bytes). An object replaced in storage by one far larger (64 MiB here, for
// a file the manifest gives a few KiB) is refused as corrupt by ReadRows (backtest's
// row reader, the console's preview) and by Fetch (backfill's cache) after reading one
// byte past the listed size: read with an unbounded io.ReadAll, it was held whole in
// memory first.
func TestReadRowsOfLargerObjectReadsItWhole(t *testing.T) {
	t.Parallel()
	bkt, lake, _, snap := smallFilesLake(t, "file", "larger", 3)
	f := snap.Files(lakehouse.Filter{})[0]
	big := bytes.Repeat([]byte("PAR1"), 16<<20)
	if err := bkt.Put(context.Background(), f.Path, bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("holds more than the %d bytes the manifest lists (read stopped at %d)", f.Bytes, f.Bytes+1)
	_, err := lake.ReadRows(context.Background(), f)
	if !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), want) {
		t.Errorf("ReadRows of a %d-byte object listed as %d bytes: %v, want ErrCorrupt saying %q", len(big), f.Bytes, err, want)
	}
	_, err = lake.Fetch(context.Background(), f, t.TempDir())
	if !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), want) {
		t.Errorf("Fetch of a %d-byte object listed as %d bytes: %v, want ErrCorrupt saying %q", len(big), f.Bytes, err, want)
	}
}

// TestCompactionOfLargerObjectReadsItWhole: compaction's read of a file, replaced in
// storage by a far larger object, stops one byte past the size the manifest lists; the
// pass names the file corrupt, and its log line says both sizes.
func TestCompactionOfLargerObjectReadsItWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt, _ := lakehousetest.FileBucket(t)
	names := slices.Sorted(maps.Keys(lakehousetest.SmallFilesLake(t, bkt, 1, 4, 5, nil)))
	var logged bytes.Buffer
	lake := lakehouse.NewLake(bkt, slog.New(slog.NewTextHandler(&logged, nil)))
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var victim lakehouse.FileEntry
	for _, f := range snap.Files(lakehouse.Filter{}) {
		if f.Path == names[1] {
			victim = f
		}
	}
	if err := bkt.Put(ctx, victim.Path, bytes.NewReader(bytes.Repeat([]byte("PAR1"), 16<<20))); err != nil {
		t.Fatal(err)
	}
	_, err = lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 20, TargetBytes: 1 << 20})
	if !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), victim.Path) {
		t.Errorf("pass over a 64 MiB object listed as %d bytes: %v, want ErrCorrupt naming %s", victim.Bytes, err, victim.Path)
	}
	want := fmt.Sprintf("%s holds more than the %d bytes the manifest lists (read stopped at %d)", victim.Path, victim.Bytes, victim.Bytes+1)
	if !strings.Contains(logged.String(), want) {
		t.Errorf("the pass's log does not say %q:\n%s", want, logged.String())
	}
}
