package lakehouse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestInspect checks `hindsight lake ls/stats` output against the history. With
// LAKE_KEEP_DIR set, the lake is written there and kept, for trying the CLI by hand.
func TestInspect(t *testing.T) {
	ctx := context.Background()
	dir := os.Getenv("LAKE_KEEP_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	url := "file://" + dir
	bkt, err := lakehouse.OpenBucket(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer bkt.Close()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 3})
	lake := lakehouse.NewLake(bkt, testLogger())
	h := newHistory(8)
	cfg := archiverConfig(b, bkt, "inspect")
	cfg.RollBytes = 1 << 20
	stop := startArchiver(t, cfg)
	h.produce(t, b.Client(t), 9000)
	waitArchived(t, lake, h.ends(), 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := lakehouse.RunStats(ctx, lakehouse.InspectConfig{BucketURL: url, Out: &out, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var st lakehouse.Stats
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("stats JSON: %v\n%s", err, out.String())
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
	out.Reset()
	if err := lakehouse.RunStats(ctx, lakehouse.InspectConfig{BucketURL: url, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "total") || !strings.Contains(out.String(), "smaller than the raw JSON") {
		t.Errorf("stats table:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
	out.Reset()
	if err := lakehouse.RunLs(ctx, lakehouse.InspectConfig{BucketURL: url, Out: &out, Filter: lakehouse.Filter{Partitions: []int32{1}}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	snap, _ := lake.Snapshot(ctx)
	want := len(snap.Files(lakehouse.Filter{Partitions: []int32{1}}))
	if len(lines) != want+2 || !strings.Contains(out.String(), "data/p=0001/") || strings.Contains(out.String(), "data/p=0000/") {
		t.Errorf("ls of partition 1 (%d files):\n%s", want, out.String())
	}
}
