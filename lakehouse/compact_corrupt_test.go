package lakehouse_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// A corrupt file in a compaction group is left listed as it is, the files after it
// still merge, and the pass, all else done, fails naming it: counted alone, the pass
// had succeeded and the rest of the group stayed small.
func TestCompactionMergesAroundACorruptFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt, _ := lakehousetest.FileBucket(t)
	names := slices.Sorted(maps.Keys(lakehousetest.SmallFilesLake(t, bkt, 1, 4, 5, nil)))
	victim := names[1]
	if err := bkt.Put(ctx, victim, bytes.NewReader([]byte("PAR1short"))); err != nil {
		t.Fatal(err)
	}
	lake := lakehouse.NewLake(bkt, testLogger())
	rep, err := lake.Maintain(ctx, lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 20, TargetBytes: 1 << 20})
	if !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), victim) {
		t.Errorf("pass over a corrupt file: err = %v, want ErrCorrupt naming %s", err, victim)
	}
	if rep.CorruptFiles != 1 || !slices.Equal(rep.Corrupt, []string{victim}) || rep.FilesCompacted != 2 || rep.FilesWritten != 1 {
		t.Errorf("report = %+v; want 1 corrupt file (%s), the 2 files after it merged into 1", rep, victim)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	var rows int64
	for _, f := range snap.Files(lakehouse.Filter{}) {
		listed = append(listed, f.Path)
		rows += f.Rows
	}
	if len(listed) != 3 || listed[0] != names[0] || listed[1] != victim || rows != 20 {
		t.Errorf("listed after the pass: %v, %d rows; want %s, %s and one merged file, 20 rows", listed, rows, names[0], victim)
	}
}
