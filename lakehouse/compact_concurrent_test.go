package lakehouse_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// onFirstDataGet runs hook once, before the first Get of a data file.
type onFirstDataGet struct {
	lakehouse.Bucket
	once sync.Once
	hook func()
}

func (b *onFirstDataGet) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if strings.HasPrefix(name, "data/") {
		b.once.Do(b.hook)
	}
	return b.Bucket.Get(ctx, name)
}

// Two maintenance passes on one lake (the archiver's own and `lake compact`, or two
// runs of `lake compact`): the first to commit merges a group of small files and,
// its delete delay past (here `lake compact --delete-delay -1`, "delete now"), deletes
// them. The other pass, which read the manifest before, then fetches a file of the same
// group: gone from the bucket and from the newest manifest, it was replaced, not lost.
// It is taken as a compaction lost to a concurrent change (errStale: "will retry next
// pass"). It had been reported as a corrupt file (MaintenanceReport.CorruptFiles,
// `lake compact` printed "1 corrupt file", an error was logged "corrupt file, not
// compacted" and counted): a lake that is whole was reported damaged.
func TestConcurrentCompactionIsNotCorruption(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner, _ := lakehousetest.FileBucket(t)
	lakehousetest.SmallFilesLake(t, inner, 1, 4, 5, nil)
	mc := lakehouse.MaintenanceConfig{CompactSmallBytes: 1 << 20, TargetBytes: 1 << 20, DeleteDelay: -1}
	var other lakehouse.MaintenanceReport
	var otherErr error
	slow := &onFirstDataGet{Bucket: inner, hook: func() {
		// The other pass runs to its end while this one is between reading the
		// manifest and fetching its group's first file.
		other, otherErr = lakehouse.NewLake(inner, testLogger()).Maintain(ctx, mc)
	}}
	rep, err := lakehouse.NewLake(slow, testLogger()).Maintain(ctx, mc)
	if otherErr != nil || other.FilesCompacted != 4 {
		t.Fatalf("the other pass: %+v, %v; want 4 files compacted", other, otherErr)
	}
	t.Logf("this pass: compacted %d, corrupt %d, err %v", rep.FilesCompacted, rep.CorruptFiles, err)
	if err != nil {
		t.Errorf("this pass failed: %v", err)
	}
	if rep.CorruptFiles != 0 {
		t.Errorf("this pass reports %d corrupt files; the lake holds none (its group was compacted by the other pass)", rep.CorruptFiles)
	}
	snap, err := lakehouse.NewLake(inner, testLogger()).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, f := range snap.Files(lakehouse.Filter{}) {
		rows += f.Rows
	}
	if rows != 20 {
		t.Errorf("the lake lists %d rows, want 20", rows)
	}
}
