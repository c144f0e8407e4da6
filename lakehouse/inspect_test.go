package lakehouse_test

import (
	"context"
	"os"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestInspect checks what `hindsight lake ls/stats` are given (the figures; their
// printing is tested in cmd/hindsight) against the history. With LAKE_KEEP_DIR set,
// the lake is written there and kept, for trying the CLI by hand.
func TestInspect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := os.Getenv("LAKE_KEEP_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	url := "file://" + dir
	bkt := lakehousetest.OpenBucket(t, url)
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	lake := lakehouse.NewLake(bkt, testLogger())
	cfg := archiverConfig(b, bkt, "inspect")
	cfg.RollBytes = 1 << 20
	// 9,000 events; under -short 3,600, 1,200 a partition, still compressed well past the
	// ratio of 3 the stats are checked for (6.00 either way), for 40% of the rows.
	events := 9000
	if testing.Short() {
		events = 3600
	}
	h, snap := archiveEvents(t, b, lake, cfg, 8, events)

	st, err := lakehouse.LakeStats(ctx, url, lakehouse.StorageConfig{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var raw int64
	for _, r := range h.recs {
		raw += int64(len(r.JSON))
	}
	if st.Rows != int64(len(h.recs)) || st.RawBytes != raw || st.Ratio < 3 || len(st.Partitions) != 3 {
		t.Errorf("stats = rows %d raw %d ratio %.2f partitions %d; want rows %d raw %d", st.Rows, st.RawBytes, st.Ratio, len(st.Partitions), len(h.recs), raw)
	}
	for _, p := range st.Partitions {
		if p.Watermark != h.ends()[p.Partition] {
			t.Errorf("partition %d watermark %d, want %d", p.Partition, p.Watermark, h.ends()[p.Partition])
		}
	}

	ls, err := lakehouse.ListLake(ctx, url, lakehouse.Filter{Partitions: []int32{1}}, lakehouse.StorageConfig{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	want := len(snap.Files(lakehouse.Filter{Partitions: []int32{1}}))
	if ls.Version != snap.Version() || len(ls.Files) != want || want == 0 {
		t.Errorf("ls of partition 1: v%d, %d files; want v%d, %d files", ls.Version, len(ls.Files), snap.Version(), want)
	}
	for _, f := range ls.Files {
		if f.Partition != 1 {
			t.Errorf("ls of partition 1 lists %s", f.Path)
		}
	}

	if rep, err := lakehouse.MaintainLake(ctx, "nope://lake", lakehouse.MaintenanceConfig{}, lakehouse.StorageConfig{Logger: testLogger()}); err == nil || rep != nil {
		t.Errorf("maintenance of a lake at a bad URL: %+v, %v; want no report and an error", rep, err)
	}
	if rep, err := lakehouse.MaintainLake(ctx, url, lakehouse.MaintenanceConfig{}, lakehouse.StorageConfig{Logger: testLogger()}); err != nil || rep == nil {
		t.Errorf("maintenance of the lake: %+v, %v; want a report and no error", rep, err)
	}
}
