package lakehouse_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestRevokedPartitionWatermarkGoes: archiver A archives both partitions, then
// archiver B joins its group and takes one. A's hindsight_lake_watermark_offset
// ("Highest archived offset per partition") for the partition it gave up must go, as
// its hindsight_lake_lag_records does, or follow the lake: it stays at the offset A
// last archived, for ever, while B archives past it.
func TestRevokedPartitionWatermarkGoes(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	bkt, _ := openTestBucket(t, "mem")
	lake := lakehouse.NewLake(bkt, testLogger())
	h := newHistory(7)
	h.produce(t, b.Client(t), 2000)

	regA := prometheus.NewRegistry()
	cfgA := archiverConfig(b, bkt, "review-watermark")
	cfgA.Registerer = regA
	startArchiver(t, cfgA)
	waitArchived(t, lake, h.ends(), 60*time.Second)
	for p := range int32(2) {
		if v := promtest.Value(t, regA, "hindsight_lake_watermark_offset", "partition", strconv.Itoa(int(p))); v < 0 {
			t.Fatalf("A shows no watermark for partition %d after archiving it", p)
		}
	}

	regB := prometheus.NewRegistry()
	cfgB := archiverConfig(b, bkt, "review-watermark")
	cfgB.Registerer = regB
	startArchiver(t, cfgB)
	series := func(reg prometheus.Gatherer, name string) int {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				return len(mf.GetMetric())
			}
		}
		return 0
	}
	poll.Until(t, 60*time.Second, "B took a partition from A", func() bool {
		return series(regB, "hindsight_lake_lag_records") >= 1 && series(regA, "hindsight_lake_lag_records") == 1
	})

	h.produce(t, b.Client(t), 4000)
	snap := waitArchived(t, lake, h.ends(), 60*time.Second)
	for p := range int32(2) {
		label := strconv.Itoa(int(p))
		owned := promtest.Value(t, regA, "hindsight_lake_lag_records", "partition", label) >= 0
		got := promtest.Value(t, regA, "hindsight_lake_watermark_offset", "partition", label)
		t.Logf("partition %d: A owns it %v, A's watermark gauge %v, the lake's watermark %d", p, owned, got, snap.Watermark(p))
		if !owned && got != -1 {
			t.Errorf("A's hindsight_lake_watermark_offset{partition=%q} is %v, the lake's watermark is %d: A gave the partition up and its gauge stayed at the offset it last archived", label, got, snap.Watermark(p))
		}
	}
}
