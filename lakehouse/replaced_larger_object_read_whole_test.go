package lakehouse_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestReadRowsOfLargerObjectReadsItWhole: the manifest records each data file's size
// (FileEntry.Bytes), and Fetch checks a cached copy against it. ReadRecords (ReadRows:
// backtest's row reader, the console's preview) reads the object with io.ReadAll,
// unbounded: an object replaced in storage by one far larger than the manifest says is
// held whole in memory before it is refused as corrupt. 64 MiB here, for a file the
// manifest gives a few KiB.
func TestReadRowsOfLargerObjectReadsItWhole(t *testing.T) {
	bkt, lake, _, snap := smallFilesLake(t, "file", "larger", 3)
	f := snap.Files(lakehouse.Filter{})[0]
	big := bytes.Repeat([]byte("PAR1"), 16<<20)
	if err := bkt.Put(context.Background(), f.Path, bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := lake.ReadRows(context.Background(), f)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, lakehouse.ErrCorrupt) {
		t.Errorf("ReadRows of a %d-byte object listed as %d bytes: %v, want ErrCorrupt", len(big), f.Bytes, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(4*f.Bytes)+16<<20 {
		t.Errorf("ReadRows of a %d-byte object the manifest lists as %d bytes allocated %d bytes (refused: %v)", len(big), f.Bytes, alloc, err)
	}
}
