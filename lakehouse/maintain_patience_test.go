package lakehouse_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// manifestCommitsFail fails every manifest commit (PutIfAbsent under manifest/), as a
// store gone away between a merge's upload and its commit would.
type manifestCommitsFail struct{ lakehouse.Bucket }

func (b manifestCommitsFail) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	if strings.HasPrefix(name, "manifest/") {
		return errors.New("503 service unavailable")
	}
	return b.Bucket.PutIfAbsent(ctx, name, r)
}

// A one-shot pass (`lake compact`) gives up on a storage operation that kept failing
// for its StoragePatience and ends with the error: what it committed stays, and the
// merge whose commit failed is visible nowhere (its inputs listed, its file not). A
// negative patience waits the outage out, as the archiver's own passes do.
func TestMaintenanceGivesUpAfterStoragePatience(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out the storage patience (3 s): make test runs it")
	}
	ctx := context.Background()
	inner, _ := lakehousetest.FileBucket(t)
	lakehousetest.SmallFilesLake(t, inner, 1, 4, 5, nil)
	mc := lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 20, TargetBytes: 1 << 20, StoragePatience: 500 * time.Millisecond}
	start := time.Now()
	rep, err := lakehouse.NewLake(manifestCommitsFail{inner}, testLogger()).Maintain(ctx, mc)
	took := time.Since(start)
	t.Logf("pass with manifest commits failing, patience %v: %+v, %v, after %v", mc.StoragePatience, rep, err, took)
	if err == nil || !strings.Contains(err.Error(), "storage failing for") {
		t.Errorf("the pass ended with %v; want the commit's error, given up on", err)
	}
	if took > 10*time.Second {
		t.Errorf("the pass took %v with a patience of %v", took, mc.StoragePatience)
	}
	if rep.FilesCompacted != 0 {
		t.Errorf("the pass reports %d files compacted; its commit failed", rep.FilesCompacted)
	}
	snap, err := lakehouse.NewLake(inner, testLogger()).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	files := snap.Files(lakehouse.Filter{})
	for _, f := range files {
		rows += f.Rows
	}
	if snap.Version() != 1 || len(files) != 4 || rows != 20 {
		t.Errorf("after the pass the lake is v%d listing %d files of %d rows; want v1, its 4 files of 20 rows", snap.Version(), len(files), rows)
	}

	// Negative: for as long as the outage lasts (here until ctx ends).
	mc.StoragePatience = -1
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = lakehouse.NewLake(manifestCommitsFail{inner}, testLogger()).Maintain(cctx, mc)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("with a negative patience the pass ended with %v; want it to wait until its context ended", err)
	}
}
