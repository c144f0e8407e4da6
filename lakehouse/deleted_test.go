package lakehouse_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// Records the broker deleted (the topic's retention) before the archiver read them are
// counted, per partition, and the file whose range covers them says how many it lacks,
// as does the file compaction merges it into; a log start moved only over what the lake
// holds already costs nothing.
func TestDeletedBeforeArchivedAreCounted(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	cl := b.Client(t)
	h := newHistory(7)
	h.produce(t, cl, 100) // offsets 0–99
	archiveAll(t, lake, h, 60*time.Second, startArchiver(t, archiverConfig(b, bkt, "deleted")))

	var deletedSoFar int64
	for _, step := range []struct {
		name     string
		logStart int64 // where the partition's log starts before the archiver resumes
		deleted  int64 // of the 100 records produced while it was stopped
	}{
		{"log start within the lake", 50, 0},
		{"log start beyond the lake", 230, 30},
	} {
		h.produce(t, cl, 100)
		deleteRecords(t, cl, step.logStart)
		deletedSoFar += step.deleted
		cfg, reg := meteredArchiverConfig(b, bkt, "deleted")
		snap := archiveAll(t, lake, h, 60*time.Second, startArchiver(t, cfg))
		if got := promtest.Value(t, reg, "hindsight_lake_deleted_unarchived_total", "partition", "0"); got != float64(step.deleted) {
			t.Errorf("%s: hindsight_lake_deleted_unarchived_total = %v, want %d", step.name, got, step.deleted)
		}
		var deleted, rows int64
		for _, f := range snap.Files(lakehouse.Filter{}) {
			deleted += f.DeletedRecords()
			rows += f.Rows
			if len(f.Deleted) > 0 && (f.StartOffset > 200 || f.EndOffset < 229 || !slices.Equal(f.Deleted, []lakehouse.OffsetRange{{From: 200, To: 229}})) {
				t.Errorf("%s: file [%d, %d] says it lacks %v; only the one covering 200–229 should, and just those", step.name, f.StartOffset, f.EndOffset, f.Deleted)
			}
		}
		if produced := int64(len(h.recs)); deleted != deletedSoFar || rows != produced-deletedSoFar {
			t.Errorf("%s: the lake holds %d rows and says it lacks %d; want %d and %d", step.name, rows, deleted, produced-deletedSoFar, deletedSoFar)
		}
	}
	// Compaction merges the files and keeps the count.
	if _, err := lake.Maintain(context.Background(), lakehouse.MaintenanceConfig{CompactSmallBytes: 64 << 20, TargetBytes: 64 << 20, DeleteDelay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var lacking [][]lakehouse.OffsetRange
	for _, f := range snap.Files(lakehouse.Filter{}) {
		lacking = append(lacking, f.Deleted)
	}
	if len(lacking) != 1 || !slices.Equal(lacking[0], []lakehouse.OffsetRange{{From: 200, To: 229}}) {
		t.Errorf("after compaction the files lack %v, want one file lacking offsets 200–229", lacking)
	}
}

// deleteRecords moves the start of partition 0 of the events topic to at, as the
// topic's retention would.
func deleteRecords(t *testing.T, cl *kgo.Client, at int64) {
	t.Helper()
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: "events", Partition: 0, At: at})
	if resp, err := kadm.NewClient(cl).DeleteRecords(context.Background(), del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
}
