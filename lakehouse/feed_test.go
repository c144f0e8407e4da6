package lakehouse_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// feeder plays the live consumer of a fed archiver: it reads every partition from a
// position of its own and hands the fetches to the feed, dropping some on the way
// (each leaves a hole the archiver must read itself), and notes the verdicts of some of
// each batch's records as it handles it, a poll later.
type feeder struct {
	t      *testing.T
	cl     *kgo.Client
	feed   *lakehouse.Feed
	rng    *rand.Rand
	drop   float64
	cursor map[int32]int64
	handed int
	doc    *jsonpath.Document
}

type fedRecords struct {
	notes *lakehouse.FedBatch
	recs  []*kgo.Record
}

// handle notes the verdicts of a random prefix of the batch's records (none, some or
// all: a handler may stop early), as the live consumer does, and says it handled it.
func (f *feeder) handle(b fedRecords) {
	n := f.rng.IntN(len(b.recs) + 1)
	if f.rng.IntN(2) == 0 {
		n = len(b.recs)
	}
	for i, r := range b.recs[:n] {
		if reason, _ := verdict.Accept(f.doc, r.Key, r.Value); reason != "" {
			b.notes.Refused(i, reason)
		} else {
			b.notes.Accepted(i, f.doc)
		}
	}
	b.notes.Handled()
}

// startFeeder reads from at (per partition; a partition left out starts at its
// first record, unknown to the feed) until ctx ends, then says it gave every
// partition up. Half the feeders (by seed) wait for room before each poll. Partition silent (-1: none) is resumed at a position the feed does
// not know and none of its batches is handed over, so the archiver reads it itself
// the whole time: its client keeps fetching while the other partitions' catch-ups
// start and stop.
func startFeeder(t *testing.T, b *kafkatest.Broker, feed *lakehouse.Feed, at map[int32]int64, partitions int32, seed uint64, drop float64, silent int32) (wait func() *feeder) {
	offsets := map[int32]kgo.Offset{}
	f := &feeder{t: t, feed: feed, rng: rand.New(rand.NewPCG(seed, 11)), drop: drop, cursor: map[int32]int64{}, doc: jsonpath.NewDocument()}
	for p := range partitions {
		if o, ok := at[p]; ok {
			offsets[p] = kgo.NewOffset().At(o)
			f.cursor[p] = o
		} else {
			offsets[p] = kgo.NewOffset().AtStart()
			f.cursor[p] = -1
		}
		if p == silent {
			feed.Resume(p, -1)
		} else {
			feed.Resume(p, f.cursor[p])
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"events": offsets}),
		kgo.FetchMaxWait(50*time.Millisecond), kgo.FetchMaxPartitionBytes(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	f.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		// Each poll's batches are handled after the next poll came, as the live
		// consumer handles one poll while it fetches the next: till then they hold
		// back whatever the feed queued after them.
		var prev []fedRecords
		pace := f.rng.IntN(2) == 0 // a consumer that waits for room, as the live one does
		for ctx.Err() == nil {
			if pace {
				feed.WaitRoom(ctx, 10*time.Millisecond)
			}
			pctx, pcancel := context.WithTimeout(ctx, 100*time.Millisecond)
			fs := cl.PollFetches(pctx)
			pcancel()
			var cur []fedRecords
			fs.EachPartition(func(fp kgo.FetchTopicPartition) {
				if len(fp.Records) == 0 {
					return
				}
				from := f.cursor[fp.Partition]
				f.cursor[fp.Partition] = fp.Records[len(fp.Records)-1].Offset + 1
				if from < 0 && fp.Records[0].Offset == fp.LogStartOffset && f.rng.IntN(2) == 0 {
					from = lakehouse.FromLogStart // as the live consumer says it (ingest.FromLogStart)
				}
				if fp.Partition == silent || f.rng.Float64() < f.drop {
					return
				}
				f.handed += len(fp.Records)
				if b := feed.Fetched(fp.Partition, from, fp.LogStartOffset, fp.Records); b != nil {
					cur = append(cur, fedRecords{b, fp.Records})
				}
			})
			for _, b := range prev {
				f.handle(b)
			}
			prev = cur
		}
		for _, b := range prev {
			f.handle(b)
		}
	})
	return func() *feeder {
		cancel()
		wg.Wait()
		ps := make([]int32, 0, partitions)
		for p := range partitions {
			ps = append(ps, p)
		}
		feed.Revoked(ps)
		cl.Close()
		return f
	}
}

// TestFedArchiverExactlyOnce runs a fed archiver over rounds in which its consumer
// starts behind the lake, ahead of it, or where only the reset position knows, drops
// batches at random, overflows a small feed, leaves a partition to the archiver's own
// reading, and the archiver sometimes crashes; then a
// last round whose consumer starts at the end, so that everything left comes from
// catch-up. The lake must hold every produced record exactly once.
func TestFedArchiverExactlyOnce(t *testing.T) {
	// Not parallel: it reads the buffer cache the whole process shares (BuffersOutstanding).
	if testing.Short() {
		t.Skip("slow: rounds against a broker; runs in make test")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	const partitions = 4
	b, bkt, lake := brokerAndLake(t, partitions, "mem")
	h := newHistory(seed)
	cl := b.Client(t)
	wait := backgroundProducer(t, h, cl, 6000, 300, 30*time.Millisecond)

	var crashes, handed int
	var caughtUp, dropped float64
	for round := range 6 {
		h.produce(t, cl, 800)
		// Where the consumer starts: behind the lake, ahead of it, or unknown.
		snap, err := lake.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ends := h.ends()
		at := map[int32]int64{}
		for p := range int32(partitions) {
			wm := snap.Watermark(p)
			switch rng.IntN(3) {
			case 0:
				at[p] = max(0, wm+1-int64(rng.IntN(200)))
			case 1:
				at[p] = min(ends[p]+1, wm+1+int64(rng.IntN(400)))
			}
		}
		// A feed of a few batches overflows all the time: its gap items then meet
		// batches that continue the archive (a consumer behind it) in one take. The
		// size follows the round, not the seed, so that small and large feeds each
		// meet crashing and clean rounds in every run (a seed that drew six large
		// feeds once dropped nothing and failed the check below).
		size := 200 + rng.IntN(2000)
		if round%4 < 2 {
			size = 20 + rng.IntN(100)
		}
		feed := lakehouse.NewFeed(size, 0, nil)
		cfg, reg := meteredArchiverConfig(b, bkt, "")
		cfg.Feed = feed
		crash := round%2 == 1
		if crash {
			lakehouse.SetFaultHook(&cfg, crashAt("any", 20+rng.IntN(40), rng))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		done := make(chan error, 1)
		go func() { done <- lakehouse.RunArchiver(ctx, cfg) }()
		stopFeeder := startFeeder(t, b, feed, at, partitions, seed+uint64(round), 0.1, int32(rng.IntN(partitions+1))-1)
		err = <-done
		cancel()
		f := stopFeeder()
		handed += f.handed
		caughtUp += promtest.Sum(t, reg, "hindsight_lake_catch_ups_total")
		dropped += float64(feed.Dropped())
		switch {
		case lakehouse.IsCrash(err):
			crashes++
			t.Logf("round %d: %v", round, err)
		case err != nil:
			t.Fatalf("round %d: archiver failed: %v", round, err)
		}
	}
	wait()
	if crashes == 0 {
		t.Error("no round crashed: the fault points were not exercised")
	}
	if handed == 0 || caughtUp == 0 || dropped == 0 {
		t.Errorf("the rounds did not exercise the feed: %d records handed over, %v catch-ups, %v records dropped", handed, caughtUp, dropped)
	}

	// Last round: the consumer starts at the end; catch-up archives what is left.
	feed := lakehouse.NewFeed(0, 0, nil)
	cfg := archiverConfig(b, bkt, "")
	cfg.Feed = feed
	stop := startArchiver(t, cfg)
	at := map[int32]int64{}
	for p, e := range h.ends() {
		at[p] = e + 1
	}
	stopFeeder := startFeeder(t, b, feed, at, partitions, seed, 0, -1)
	snap := waitArchived(t, lake, h.ends(), 60*time.Second)
	stopFeeder()
	stopArchivers(t, stop)
	if snap, err := lake.Snapshot(context.Background()); err == nil {
		checkExactlyOnce(t, lake, snap, h)
	} else {
		t.Fatal(err)
	}
	// Crashed, revoked and stopped archivers gave every buffer back (they live outside
	// the Go heap: one not put back is lost for good).
	if n := lakehouse.BuffersOutstanding(); n != 0 {
		t.Errorf("%d bytes of archive buffers not given back", n)
	}
	t.Logf("%d crashes, %d records handed over, %v catch-ups, %v records dropped by full feeds, %d events, %d files",
		crashes, handed, caughtUp, dropped, len(h.recs), len(snap.Files(lakehouse.Filter{})))
}

// TestFedArchiverTakesBatchesFromTheStart: a consumer that reads a partition from its
// start — resumed at offset 0, or at a position it cannot say with batches from the
// log start (ingest.FromLogStart) — hands over everything an empty lake lacks, so the
// archiver takes its batches instead of reading the partition again itself (it once
// read all of it, the feed's batches counted unused: a second fetch, decompression and
// parse of every record of a daemon new to its topic).
func TestFedArchiverTakesBatchesFromTheStart(t *testing.T) {
	t.Parallel()
	const partitions = 2
	b, bkt, lake := brokerAndLake(t, partitions, "mem")
	h := newHistory(17)
	h.produce(t, b.Client(t), 600)
	ends := h.ends()
	feed := lakehouse.NewFeed(0, 0, nil)
	feed.Resume(0, 0)
	feed.Resume(1, -1)
	feed.Records(0, 0, fetchRange(t, b, 0, 0, ends[0]))
	feed.Records(1, lakehouse.FromLogStart, fetchRange(t, b, 1, 0, ends[1]))
	cfg, reg := meteredArchiverConfig(b, bkt, "")
	cfg.Feed = feed
	stop := startArchiver(t, cfg)
	snap := waitArchived(t, lake, ends, 20*time.Second)
	stopArchivers(t, stop)
	checkExactlyOnce(t, lake, snap, h)
	for name, want := range map[string]float64{
		"hindsight_lake_feed_unused_records_total":  0,
		"hindsight_lake_feed_dropped_records_total": 0,
		"hindsight_lake_catch_ups_total":            1, // partition 1's, from its resumption at -1 to its first batch
	} {
		if got := promtest.Sum(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestFedArchiverReadsADroppedLastBatch: a batch the feed drops for want of room,
// with no batch after it for its partition (the consumer has nothing more: a quiet
// partition, or the end of a backlog), is read from Kafka all the same: the archive
// reaches the end of every partition.
func TestFedArchiverReadsADroppedLastBatch(t *testing.T) {
	t.Parallel()
	const partitions = 2
	b, bkt, lake := brokerAndLake(t, partitions, "mem")
	h := newHistory(7)
	prod := b.Client(t)
	// A lake that holds the first events, so that the consumer resumes where the
	// archive ends and no catch-up starts of itself.
	h.produce(t, prod, 400)
	archiveAll(t, lake, h, 30*time.Second, startArchiver(t, archiverConfig(b, bkt, "first")))
	start := h.ends()
	h.produce(t, prod, 600)
	ends := h.ends()
	// The new records, as the consumer fetched them.
	recs := map[int32][]*kgo.Record{}
	for p := range int32(partitions) {
		recs[p] = fetchRange(t, b, p, start[p]+1, ends[p])
	}
	// The first half of each partition's records fits the feed; the second half, the
	// partition's last batch, is dropped.
	half := map[int32]int{0: len(recs[0]) / 2, 1: len(recs[1]) / 2}
	feed := lakehouse.NewFeed(half[0]+half[1], 0, nil)
	for p := range int32(partitions) {
		feed.Resume(p, start[p]+1)
		feed.Records(p, start[p]+1, recs[p][:half[p]])
		feed.Records(p, start[p]+1+int64(half[p]), recs[p][half[p]:])
	}
	if want := int64(len(recs[0]) + len(recs[1]) - half[0] - half[1]); feed.Dropped() != want || want == 0 {
		t.Fatalf("the feed dropped %d records, want %d", feed.Dropped(), want)
	}
	cfg := archiverConfig(b, bkt, "")
	cfg.Feed = feed
	stop := startArchiver(t, cfg)
	snap := waitArchived(t, lake, ends, 20*time.Second)
	stopArchivers(t, stop)
	checkExactlyOnce(t, lake, snap, h)
}

// TestFedArchiverGapThenContinuationThenGap: a gap and a batch that continues the
// archive, taken together, start and end the archiver's own reading of the partition
// at once; a later gap must then start it again from the archive's next offset. The
// archiver once left the reading running (the start came after the stop), so the
// later gap found its client already past the records it needed: the partition stayed
// "catching up" with nothing more to read, and the archive stopped short of its end.
//
// Partition 1 is read by the archiver all along (its consumer's position is not
// known and it hands nothing over), so the archiver's client keeps fetching.
func TestFedArchiverGapThenContinuationThenGap(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 2, "mem")
	h, start, recs := archivedThenMore(t, b, bkt, lake, 9, 400, 600)
	ends := h.ends()

	const limit = 20
	feed := lakehouse.NewFeed(limit, 0, nil)
	feed.Resume(0, start)
	feed.Resume(1, -1)
	feed.Records(0, start, recs[:limit/2])         // continues the archive
	feed.Records(0, start+limit/2, recs[limit/2:]) // too many: dropped, a gap
	feed.Records(0, start, recs[:limit/2])         // continues the archive again
	if want := len(recs) - limit/2; feed.Dropped() != int64(want) {
		t.Fatalf("the feed dropped %d records, want %d", feed.Dropped(), want)
	}
	cfg, reg := meteredArchiverConfig(b, bkt, "")
	cfg.Feed = feed
	stop := startArchiver(t, cfg)
	defer stop()
	waitMetric(t, reg, "hindsight_lake_catch_ups_total", 2, 10*time.Second)
	// Long enough for a reading left running to pass the partition's end.
	time.Sleep(500 * time.Millisecond)
	// Dropped again (the feed, empty, would take any one batch: one waits in it).
	waiting := feed.Fetched(0, start+limit/2, -1, recs[limit/2:limit/2+1])
	feed.Records(0, start+limit/2+1, recs[limit/2+1:])
	waiting.Handled()
	snap := waitArchived(t, lake, ends, 20*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, lake, snap, h)
	if got := promtest.Sum(t, reg, "hindsight_lake_catch_ups_total"); got != 3 {
		t.Errorf("%v catch-ups, want 3 (partition 1's, one per gap of partition 0)", got)
	}
}

// archivedThenMore produces first events of a new history (seed) and archives them,
// then produces more: it returns the history, partition 0's first offset past the
// archive and its records from there to its end, as a consumer fetched them.
func archivedThenMore(t *testing.T, b *kafkatest.Broker, bkt lakehouse.Bucket, lake *lakehouse.Lake, seed uint64, first, more int) (*history, int64, []*kgo.Record) {
	t.Helper()
	h := newHistory(seed)
	prod := b.Client(t)
	h.produce(t, prod, first)
	archiveAll(t, lake, h, 30*time.Second, startArchiver(t, archiverConfig(b, bkt, "first")))
	start := h.ends()[0] + 1
	h.produce(t, prod, more)
	return h, start, fetchRange(t, b, 0, start, h.ends()[0])
}

// fetchRange reads partition p's records from offset from through to.
func fetchRange(t *testing.T, b *kafkatest.Broker, p int32, from, to int64) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		"events": {p: kgo.NewOffset().At(from)}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for int64(len(recs)) < to-from+1 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records of partition %d, want %d", len(recs), p, to-from+1)
		}
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return recs
}

// waitMetric waits until the registry's metric name sums to at least want.
func waitMetric(t *testing.T, reg *prometheus.Registry, name string, want float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for promtest.Sum(t, reg, name) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v after %v, want %v", name, promtest.Sum(t, reg, name), timeout, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFedArchiverCountsUnusedBatches: batches the feed hands over beyond a hole are
// no use to the archiver, which reads them from Kafka with the hole; they count in
// hindsight_lake_feed_unused_records_total, so that the records fetched twice show
// (the feed dropped none).
func TestFedArchiverCountsUnusedBatches(t *testing.T) {
	t.Parallel()
	b, bkt, lake := brokerAndLake(t, 1, "mem")
	h, start, recs := archivedThenMore(t, b, bkt, lake, 13, 200, 300)
	end := h.ends()[0]

	feed := lakehouse.NewFeed(0, 0, nil)
	feed.Resume(0, start)
	feed.Records(0, start+10, recs[10:20]) // a consumer ahead of the archive: a hole
	feed.Records(0, start+20, recs[20:30]) // beyond the hole, which is being read
	cfg, reg := meteredArchiverConfig(b, bkt, "")
	cfg.Feed = feed
	stop := startArchiver(t, cfg)
	defer stop()
	snap := waitArchived(t, lake, map[int32]int64{0: end}, 20*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, lake, snap, h)
	for name, want := range map[string]float64{
		"hindsight_lake_feed_unused_records_total":  20,
		"hindsight_lake_feed_dropped_records_total": 0,
		"hindsight_lake_catch_ups_total":            1,
	} {
		if got := promtest.Sum(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
