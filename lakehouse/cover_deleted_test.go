package lakehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestNoCoverOverRecordsDeletedUnarchived: Kafka's retention deleted offsets 100–199
// (events) before the archiver read them; the log then starts with records live
// dead-letters (200–209) and the partition goes quiet. The archiver keeps the range
// 100–199 for the next file, which alone can say so (and counts it only when that file
// commits, so not yet: hindsight_lake_deleted_unarchived_total stays 0): no cover may
// record the run 100–209 as read, holding no event. One did (found by a review
// helper): the next archiver resumed past it, no file ever said it lacked 100–199, and
// readers (backfill, backtests) took them for accounted.
func TestNoCoverOverRecordsDeletedUnarchived(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	cl := b.Client(t)
	h := newHistory(17)
	h.produce(t, cl, 100) // offsets 0–99
	archiveAll(t, lake, h, 60*time.Second, startArchiver(t, archiverConfig(b, bkt, "cover-deleted")))

	h.produce(t, cl, 100) // offsets 100–199: deleted before the archiver reads them
	bad := make([]*kgo.Record, 10)
	for i := range bad {
		bad[i] = &kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":`)} // live dead-letters it
	}
	if err := cl.ProduceSync(context.Background(), bad...).FirstErr(); err != nil { // offsets 200–209
		t.Fatal(err)
	}
	deleteRecords(t, cl, 200)

	cfg, reg := meteredArchiverConfig(b, bkt, "cover-deleted")
	stop := startArchiver(t, cfg)
	deadline := time.Now().Add(20 * time.Second)
	for promtest.Sum(t, reg, "hindsight_lake_records_refused_total") < 10 {
		if time.Now().After(deadline) {
			t.Fatal("the archiver did not read the dead letters within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != 0 {
		t.Errorf("hindsight_lake_deleted_unarchived_total = %v, want 0: no file listing 100–199 as deleted has committed", got)
	}
	time.Sleep(5 * cfg.RollAge) // a cover would be due
	stopArchivers(t, stop)      // and would be made at shutdown
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := snap.Partition(0); st.Through() != 99 {
		t.Errorf("partition 0: %+v; want the lake to account for 0–99 alone, the deleted records waiting for a file", st)
	}

	h.produce(t, cl, 20) // offsets 210–229
	snap = archiveAll(t, lake, h, 30*time.Second, startArchiver(t, archiverConfig(b, bkt, "cover-deleted")))
	var lacking int64
	for _, f := range snap.Files(lakehouse.Filter{}) {
		lacking += f.DeletedRecords()
	}
	if lacking != 100 {
		t.Errorf("the lake's files say they lack %d records; want 100 (offsets 100–199, deleted by Kafka before they were archived)", lacking)
	}
}
