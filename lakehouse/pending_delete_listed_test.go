package lakehouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// A damaged or hand-edited manifest whose pending deletes name a file it still lists
// (the lake's own naming, its delay long past) must not have that file deleted: readers
// of that very manifest read it. The pass leaves it, drops the entry, and says so
// (MaintenanceReport.RefusedDeletes, an ErrCorrupt naming the file and "the manifest
// still lists it").
func TestPendingDeleteOfAListedFileRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bkt, _ := lakehousetest.FileBucket(t)
	lakehousetest.SmallFilesLake(t, bkt, 1, 2, 3, nil)
	snap, err := lakehouse.NewLake(bkt, testLogger()).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2 := *snap.Manifest()
	listed := v2.Files[0].Path
	v2.Version = 2
	v2.PendingDeletes = []lakehouse.PendingDelete{{Path: listed, RemovedAt: time.Now().Add(-48 * time.Hour)}}
	data, err := json.Marshal(v2)
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.Put(ctx, "manifest/v000000000002.json", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rep, err := lakehouse.NewLake(bkt, testLogger()).Maintain(ctx, lakehouse.MaintenanceConfig{DeleteDelay: time.Hour, CompactSmallBytes: 1})
	t.Logf("pass over v2 whose pending deletes name its own listed file %s: %+v, %v", listed, rep, err)
	if ok, xerr := bkt.Exists(ctx, listed); xerr != nil || !ok {
		t.Errorf("the file %s, listed by the newest manifest, was deleted for its pending deletes naming it too (exists %v, %v)", listed, ok, xerr)
	}
	if rep.RefusedDeletes != 1 || rep.ObjectsDeleted != 0 {
		t.Errorf("%d deletes refused, %d objects deleted; want 1 refused, none deleted", rep.RefusedDeletes, rep.ObjectsDeleted)
	}
	if err == nil || !errors.Is(err, lakehouse.ErrCorrupt) || !strings.Contains(err.Error(), listed+" (the manifest still lists it)") {
		t.Errorf("pass error %v; want ErrCorrupt naming %s (the manifest still lists it)", err, listed)
	}
	after, err := lakehouse.NewLake(bkt, testLogger()).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, d := len(after.Manifest().Files), len(after.Manifest().PendingDeletes); n != 2 || d != 0 {
		t.Errorf("after the pass the newest manifest lists %d files and %d pending deletes; want both files listed, the refused entry dropped", n, d)
	}
}
