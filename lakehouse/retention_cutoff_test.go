package lakehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// Retention drops files whose newest event is older than the period
// (--archive-retention): a file whose newest event is exactly the period old is not
// older, and stays; a nanosecond later it goes. The pass's clock is the config's Now,
// so the cutoff is exact.
func TestRetentionKeepsAFileExactlyAtTheCutoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const retention = 7 * 24 * time.Hour
	for _, c := range []struct {
		name    string
		past    time.Duration // how far the clock is past the first file's newest event + retention
		expired int
	}{
		{"at the cutoff", 0, 0},
		{"a nanosecond past it", time.Nanosecond, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			bkt, _ := lakehousetest.FileBucket(t)
			lakehousetest.SmallFilesLake(t, bkt, 1, 2, 3, nil)
			snap, err := lakehouse.NewLake(bkt, testLogger()).Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			files := snap.Manifest().Files
			first := files[0]
			// Judged by its newest event: its ingest time is known, and that event is
			// within the hour after it (retentionTime).
			if first.MaxIngestTime.IsZero() || first.MaxTime.After(first.MaxIngestTime.Add(time.Hour)) || !files[1].MaxTime.After(first.MaxTime) {
				t.Fatalf("the lake's files are not what the test needs: %+v", files)
			}
			now := first.MaxTime.Add(retention + c.past)
			rep, err := lakehouse.NewLake(bkt, testLogger()).Maintain(ctx, lakehouse.MaintenanceConfig{Retention: retention,
				CompactSmallBytes: 1, DeleteDelay: time.Hour, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if rep.FilesExpired != c.expired {
				t.Errorf("retention of %v at %s over a file whose newest event is %s: %d files expired, want %d",
					retention, now.Format(time.RFC3339Nano), first.MaxTime.Format(time.RFC3339Nano), rep.FilesExpired, c.expired)
			}
			after, err := lakehouse.NewLake(bkt, testLogger()).Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(after.Manifest().Files), len(files)-c.expired; got != want {
				t.Errorf("%d files listed after the pass, want %d", got, want)
			}
		})
	}
}
