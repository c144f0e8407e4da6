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
	waitTookAPartition(t, regA, regB)

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

// TestRevokedPartitionWatermarkStaysGoneAfterInFlightFlush: a flush already under way
// for a partition when it is revoked (its files closed, its manifest commit retrying
// through a store outage) lands after the revocation; the gauge, deleted at the revoke,
// stays gone. It was set for every file committed, owned or not: the series came back,
// frozen at that offset, on an archiver that no longer owned the partition.
func TestRevokedPartitionWatermarkStaysGoneAfterInFlightFlush(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	inner, _ := openTestBucket(t, "mem")
	lake := lakehouse.NewLake(inner, testLogger())
	h := newHistory(11)
	cl := b.Client(t)
	h.produce(t, cl, 400)

	out := &manifestOutageBucket{Bucket: inner}
	regA := prometheus.NewRegistry()
	cfgA := archiverConfig(b, out, "review-inflight-watermark")
	cfgA.Registerer = regA
	cfgA.RollAge = 50 * time.Millisecond
	startArchiver(t, cfgA)
	waitArchived(t, lake, h.ends(), 60*time.Second)

	// A's next commit fails until the outage ends: its closed files wait in a flush.
	out.down.Store(true)
	h.produce(t, cl, 400)
	poll.Until(t, 30*time.Second, "A's commit to fail", func() bool { return out.failed.Load() > 0 })

	// B joins (slow to close files, so that it commits nothing meanwhile) and takes a
	// partition from A.
	regB := prometheus.NewRegistry()
	cfgB := archiverConfig(b, inner, "review-inflight-watermark")
	cfgB.Registerer = regB
	cfgB.RollAge = 10 * time.Minute
	cfgB.RollBytes = 64 << 20
	cfgB.MaxBufferedBytes = 512 << 20
	startArchiver(t, cfgB)
	waitTookAPartition(t, regA, regB)
	var gone int32 = -1
	for p := range int32(2) {
		if promtest.Value(t, regA, "hindsight_lake_lag_records", "partition", strconv.Itoa(int(p))) < 0 {
			gone = p
		}
	}
	if gone < 0 {
		t.Fatal("A still shows lag for both partitions")
	}
	if v := promtest.Value(t, regA, "hindsight_lake_watermark_offset", "partition", strconv.Itoa(int(gone))); v != -1 {
		t.Fatalf("right after the revocation A's watermark gauge for partition %d is %v", gone, v)
	}

	// The outage ends: A's in-flight flush lands, and A counts its files committed.
	failed := out.failed.Load()
	committed := promtest.Sum(t, regA, "hindsight_lake_files_committed_total")
	out.down.Store(false)
	poll.Until(t, 30*time.Second, "A's flush to land", func() bool {
		snap, err := lake.Snapshot(t.Context())
		return err == nil && snap.Watermark(gone) >= h.ends()[gone] && promtest.Sum(t, regA, "hindsight_lake_files_committed_total") > committed
	})
	label := strconv.Itoa(int(gone))
	owned := promtest.Value(t, regA, "hindsight_lake_lag_records", "partition", label) >= 0
	got := promtest.Value(t, regA, "hindsight_lake_watermark_offset", "partition", label)
	t.Logf("commit failures during the outage: %d; partition %d: A owns it %v, A's watermark gauge %v", failed, gone, owned, got)
	if !owned && got != -1 {
		t.Errorf("A's hindsight_lake_watermark_offset{partition=%q} is %v after its in-flight flush landed, though A gave the partition up (revoked): the deleted series came back and stays at that offset", label, got)
	}
}

// waitTookAPartition waits until archiver B (its metrics in regB) owns a partition
// archiver A (regA) gave up: each shows one partition's lag.
func waitTookAPartition(t *testing.T, regA, regB prometheus.Gatherer) {
	t.Helper()
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
}
