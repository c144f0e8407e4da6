package backfill

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestLakeCoverageIsChecked: the lake is deleted while the archiver runs, so the new
// lake starts half-way through Kafka's log (the bug: a new rule's backfill counted
// 3,000 of 6,000 events and said nothing). Backfill checks that the lake's files cover
// every offset from the partition's lower bound (Kafka's log start, or the lake's
// first offset) to the tail it reads from Kafka:
//
//   - while Kafka still has the lost half, the job reads it from Kafka: complete counts;
//   - once Kafka's retention dropped part of it too and lake files are lost, the result
//     is incomplete and names exactly the ranges neither holds, and counts everything
//     else.
func TestLakeCoverageIsChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	bkt, dir := lakehousetest.FileBucket(t)
	lake := lakehouse.NewLake(bkt, nil)
	gen := workload.New(33, workload.Config{Customers: 6})
	r, err := rule.ParseRule([]byte(`{"id":"fails","scope":"*","threshold":1,"when":{"path":"$.outcome","op":"==","value":"failure"}}`))
	if err != nil {
		t.Fatal(err)
	}

	// One archiver runs throughout; the lake directory is wiped under it half-way.
	actx, stopArchiver := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(actx, lakehouse.ArchiverConfig{Brokers: []string{b.Addr}, Bucket: bkt,
			RollAge: 50 * time.Millisecond, RollBytes: 32 << 10, MaxBufferedBytes: 64 << 20, CompactInterval: -1})
	}()
	defer func() {
		stopArchiver()
		if err := <-done; err != nil {
			t.Errorf("archiver: %v", err)
		}
	}()
	h := produce(t, b, gen, 3000)
	waitLake(t, lake, h)
	for _, sub := range []string{"data", "manifest"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
	h = append(h, produce(t, b, gen, 3000)...)
	snap := waitLake(t, lake, h)
	end := map[int32]int64{}
	for _, rec := range h {
		end[rec.Partition] = max(end[rec.Partition], rec.Offset+1)
	}
	for p := range end {
		if st, ok := snap.Partition(p); !ok || st.Earliest == 0 {
			t.Fatalf("partition %d: the new lake starts at %d: the wipe did not happen under the archiver", p, st.Earliest)
		}
	}
	job := Job{Rule: r, Start: end}
	want := oracle(h, job)
	// The lake's first offsets: where history held without Kafka (or with Kafka's
	// retention past them) starts.
	var lakeStarts []Truncation
	for _, p := range slices.Sorted(maps.Keys(end)) {
		st, _ := snap.Partition(p)
		lakeStarts = append(lakeStarts, Truncation{Partition: p, From: st.Earliest})
	}
	run := func(brokers []string) *Result {
		t.Helper()
		runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir(), Brokers: brokers})
		if err != nil {
			t.Fatal(err)
		}
		defer runner.Close()
		res, err := runner.Run(ctx, job)
		if err != nil {
			t.Fatalf("backfill: %v", err)
		}
		return res
	}

	// Kafka has everything: the half the lake lost is read from Kafka.
	res := run([]string{b.Addr})
	if !maps.Equal(res.Counts, want) || res.Incomplete() {
		t.Fatalf("lake wiped, Kafka complete: counts %v (missing %v), want %v complete", res.Counts, res.Missing, want)
	}
	if res.TailRecords < 2000 {
		t.Errorf("only %d records read from Kafka: the lost half was not read from there", res.TailRecords)
	}

	// Without brokers nothing below the lake's first offset is known to exist: the lake
	// alone, counted and said so.
	noKafka := run(nil)
	if !slices.Equal(noKafka.Truncated, lakeStarts) || noKafka.Incomplete() {
		t.Errorf("without Kafka: truncated %v, missing %v; want every partition truncated at the lake's start %v, nothing missing", noKafka.Truncated, noKafka.Missing, lakeStarts)
	}
	if len(res.Truncated) != 0 {
		t.Errorf("Kafka complete: truncated %v, want none", res.Truncated)
	}

	// Kafka's retention drops everything below the lake's first offset + 100, and two
	// lake files go missing from the bucket: one below the new log start (gone for
	// good), one above it (Kafka still has it).
	snap, err = lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(b.Client(t))
	del := kadm.Offsets{}
	logStart := map[int32]int64{}
	for p := range end {
		st, _ := snap.Partition(p)
		logStart[p] = st.Earliest + 100
		del.AddOffset("events", p, logStart[p], -1)
	}
	if resp, err := adm.DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
	var gone, kept lakehouse.FileEntry
	for _, f := range snap.Files(lakehouse.Filter{Partitions: []int32{0}}) {
		switch {
		case gone.Path == "" && f.EndOffset < logStart[0]:
			gone = f
		case kept.Path == "" && f.StartOffset > logStart[0] && f.EndOffset < end[0]-1:
			kept = f
		}
	}
	if gone.Path == "" || kept.Path == "" {
		t.Fatalf("partition 0 has no file below offset %d and one above it: %+v", logStart[0], snap.Files(lakehouse.Filter{Partitions: []int32{0}}))
	}
	for _, f := range []lakehouse.FileEntry{gone, kept} {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil {
			t.Fatal(err)
		}
	}
	res = run([]string{b.Addr})
	wantMissing := []Gap{{Partition: 0, From: gone.StartOffset, To: gone.EndOffset}}
	if len(res.Missing) != 1 || res.Missing[0].Partition != 0 || res.Missing[0].From != gone.StartOffset || res.Missing[0].To != gone.EndOffset {
		t.Fatalf("missing %v, want %v", res.Missing, wantMissing)
	}
	if !strings.Contains(res.Missing[0].Reason, gone.Path) || !strings.Contains(res.Missing[0].Reason, "log start") {
		t.Errorf("reason %q names neither the lost file nor Kafka's retention", res.Missing[0].Reason)
	}
	// Everything else is counted: the oracle without the gone file's offsets, and
	// without what lies below the lake's first offset (gone from Kafka too).
	var rest history
	for _, rec := range h {
		st, _ := snap.Partition(rec.Partition)
		if rec.Offset < st.Earliest || (rec.Partition == 0 && rec.Offset >= gone.StartOffset && rec.Offset <= gone.EndOffset) {
			continue
		}
		rest = append(rest, rec)
	}
	if want := oracle(rest, job); !maps.Equal(res.Counts, want) {
		t.Errorf("counts %v, want %v (everything but the missing range)", res.Counts, want)
	}
	if !slices.Equal(res.Truncated, lakeStarts) {
		t.Errorf("truncated %v: every partition's history now starts at the lake's start %v", res.Truncated, lakeStarts)
	}
}

// waitLake waits until the lake's watermarks reach the last record of h the archiver
// keeps, and returns that snapshot.
func waitLake(t *testing.T, lake *lakehouse.Lake, h history) *lakehouse.Snapshot {
	t.Helper()
	// Every record, invalid ones too: the archiver covers them all (those it cannot
	// keep as rows without a row), and a job starting after the last one must find no
	// gap between the watermark and its start. Waiting for the valid ones only let a
	// job start while an invalid last record was still unarchived.
	want := map[int32]int64{}
	for _, rec := range h {
		want[rec.Partition] = max(want[rec.Partition], rec.Offset)
	}
	var snap *lakehouse.Snapshot
	poll.Until(t, 60*time.Second, fmt.Sprintf("the lake to reach %v", want), func() bool {
		s, err := lake.Snapshot(context.Background())
		if err != nil {
			return false
		}
		for p, off := range want {
			if s.Watermark(p) < off {
				return false
			}
		}
		snap = s
		return true
	})
	return snap
}
