package lakehouse_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestSlowCoverCommitReusesPrunedVersion is TestSlowCommitReusesPrunedVersion for a
// commit that records a cover and no file. Archiver A's partition 0 holds only
// records live dead-letters (offsets 0–9): after RollAge A commits the cover, having
// read the empty lake, so it claims manifest v1, and the commit is slow. Meanwhile B
// commits partition 1 a dozen times and a maintenance pass prunes the old manifests,
// v1 among them. A's PutIfAbsent of v1 then succeeds below the newest, which never
// saw it: the commit must be taken back and made again on the newest. landedBelow
// asked only about the files a commit added or took away, so a cover-only commit stood:
// A dropped the cover as recorded and the lake never accounted for offsets 0–9 of
// partition 0 (found by a review helper).
func TestSlowCoverCommitReusesPrunedVersion(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out a slow commit (3 s): make test runs it")
	}
	b, inner, lake := brokerAndLake(t, 2, "mem")
	prod := b.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	bad := make([]*kgo.Record, 10)
	for i := range bad {
		bad[i] = &kgo.Record{Topic: "events", Partition: 0, Key: []byte("c-1"), Value: []byte(`{"type":`)} // live dead-letters it
	}
	if err := prod.ProduceSync(context.Background(), bad...).FirstErr(); err != nil { // partition 0, offsets 0–9
		t.Fatal(err)
	}
	h := newHistory(37)
	evs := make([]*kgo.Record, 240)
	for i := range evs {
		ev := h.gen.Next()
		evs[i] = &kgo.Record{Topic: "events", Partition: 1, Key: []byte(ev.Customer), Value: ev.JSON, Timestamp: ev.Time}
	}
	if err := prod.ProduceSync(context.Background(), evs...).FirstErr(); err != nil { // partition 1, offsets 0–239
		t.Fatal(err)
	}

	gated := newGatedBucket(inner)
	feedA := lakehouse.NewFeed(0, 0, nil)
	feedA.Resume(0, 0)
	feedA.Records(0, 0, fetchRange(t, b, 0, 0, 9)[:10])
	cfgA := archiverConfig(b, gated, "")
	cfgA.Feed = feedA
	stopA := startArchiver(t, cfgA)
	select {
	case <-gated.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("archiver A never tried to commit its cover")
	}

	feedB := lakehouse.NewFeed(0, 0, nil)
	feedB.Resume(1, 0)
	cfgB := archiverConfig(b, inner, "")
	cfgB.Feed = feedB
	stopB := startArchiver(t, cfgB)
	recs1 := fetchRange(t, b, 1, 0, 239)[:240]
	for i := 0; i < len(recs1); i += 20 { // a dozen commits
		chunk := recs1[i : i+20]
		feedB.Records(1, chunk[0].Offset, chunk)
		waitArchived(t, lake, map[int32]int64{1: chunk[len(chunk)-1].Offset}, 20*time.Second)
	}
	if _, err := lake.Maintain(context.Background(), lakehouse.MaintenanceConfig{}); err != nil {
		t.Fatal(err)
	}
	close(gated.open)

	deadline := time.Now().Add(5 * time.Second)
	var through int64
	for time.Now().Before(deadline) {
		snap, err := lake.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if through = snap.Through(0); through >= 9 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopArchivers(t, stopA, stopB)
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range objects(t, inner, "manifest/") {
		if strings.Contains(string(data), `"empty_after"`) {
			t.Logf("%s (newest is v%d) records the cover: %s", name, snap.Version(), data)
		}
	}
	st, ok := snap.Partition(0)
	if through, after := snap.Through(0), st; through != 9 {
		t.Errorf("after A committed its cover and stopped, the lake accounts for partition 0 up to %d (state %+v, in lake %v); want 9: the dead letters 0–9 were read", through, after, ok)
	}
}
