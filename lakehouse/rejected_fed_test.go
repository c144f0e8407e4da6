package lakehouse_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestFedArchiverRejectedFileOfAQuietPartition: a fed archiver's file is rejected
// because another writer (the partition's previous owner, whose last file committed
// late) archived the start of its range. The archiver drops its file and resumes after
// the other writer's watermark; fed and not catching up, it read nothing itself, and
// the records of its dropped file beyond that watermark were neither fed again (the
// consumer handed them over already) nor read: a partition that got no more events
// never had them archived (found by a review helper). It reads them itself now.
func TestFedArchiverRejectedFileOfAQuietPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out a late commit and a catch-up; runs in make test")
	}
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	h := newHistory(23)
	prod := b.Client(t)
	h.produce(t, prod, 100)
	archiveAll(t, lake, h, 30*time.Second, startArchiver(t, archiverConfig(b, bkt, "first")))
	start := h.ends()[0] + 1
	h.produce(t, prod, 50)
	mid := h.ends()[0] + 1

	// This daemon's consumer resumes where the archive ends and hands over the new
	// records; its archiver holds them in a file that is not due yet.
	feed := lakehouse.NewFeed(0, 0, nil)
	feed.Resume(0, start)
	feed.Records(0, start, fetchRange(t, b, 0, start, mid-1))
	cfg, reg := meteredArchiverConfig(b, bkt, "")
	cfg.Feed = feed
	cfg.RollAge = 4 * time.Second
	stop := startArchiver(t, cfg)
	defer stop()

	// The partition's previous owner commits its last file meanwhile: the same records.
	archiveAll(t, lake, h, 30*time.Second, startArchiver(t, archiverConfig(b, bkt, "previous-owner")))

	// More events, handed over by the consumer: they continue the fed file.
	h.produce(t, prod, 50)
	end := h.ends()[0]
	feed.Records(0, mid, fetchRange(t, b, 0, mid, end))

	// The fed file (start..end) is rejected at its commit; no more events come.
	waitMetric(t, reg, "hindsight_lake_files_rejected_total", 1, 15*time.Second)
	snap := waitArchived(t, lake, map[int32]int64{0: end}, 10*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, lake, snap, h)
}
