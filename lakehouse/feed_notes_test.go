package lakehouse_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// notingFeeder plays the live consumer as it hands its fetches over: it parses each
// record, tells the batch's notes the verdict and the parse, and says it handled the
// batch only after the next poll came (as a consumer handling one poll while the next
// is fetched). Now and then its handler stops before the end of a batch; the records
// it did not reach go unnoted.
type notingFeeder struct {
	// gate, held, keeps the feeder from handling what it fetched (it goes on fetching).
	gate sync.Mutex
	mu   sync.Mutex
	feederCounts
}

type feederCounts struct {
	fetched int // records handed over
	noted   int // records given a verdict
	unnoted int // records of handed-over batches given none
	refused int // noted refusals
	// unnotedRefused counts refusals among the unnoted records, which the archiver
	// finds by its own parse: where the handler stops is random, so a refused
	// record may fall either side of it.
	unnotedRefused int
	batches        int
	stopped        int // batches whose handler stopped early
	feedNone       int // fetches the feed dropped
}

// counts returns the feeder's counts so far.
func (f *notingFeeder) counts() feederCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.feederCounts
}

func startNotingFeeder(t *testing.T, addr string, feed *lakehouse.Feed, at map[int32]int64, seed uint64) (_ *notingFeeder, stop func()) {
	f := &notingFeeder{}
	offsets := map[int32]kgo.Offset{}
	cursor := map[int32]int64{}
	for p, o := range at {
		offsets[p] = kgo.NewOffset().At(o)
		cursor[p] = o
		feed.Resume(p, o)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"events": offsets}),
		kgo.FetchMaxWait(50*time.Millisecond), kgo.FetchMaxPartitionBytes(32<<10))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	doc := jsonpath.NewDocument()
	handle := func(b *lakehouse.FedBatch, recs []*kgo.Record) {
		f.batches++
		for i, r := range recs {
			if rng.IntN(40) == 0 {
				f.stopped++
				f.unnoted += len(recs) - i
				for _, r := range recs[i:] {
					if reason, _ := verdict.Accept(doc, r.Key, r.Value); reason != "" {
						f.unnotedRefused++
					}
				}
				break
			}
			f.noted++
			if reason, _ := verdict.Accept(doc, r.Key, r.Value); reason != "" {
				f.refused++
				b.Refused(i, reason)
			} else {
				b.Accepted(i, doc)
			}
		}
		b.Handled()
	}
	type fetched struct {
		b    *lakehouse.FedBatch
		recs []*kgo.Record
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		var prev []fetched
		for ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, 100*time.Millisecond)
			fs := cl.PollFetches(pctx)
			pcancel()
			var cur []fetched
			fs.EachPartition(func(fp kgo.FetchTopicPartition) {
				if len(fp.Records) == 0 {
					return
				}
				from := cursor[fp.Partition]
				cursor[fp.Partition] = fp.Records[len(fp.Records)-1].Offset + 1
				f.mu.Lock()
				defer f.mu.Unlock()
				if b := feed.Fetched(fp.Partition, from, fp.LogStartOffset, fp.Records); b != nil {
					cur = append(cur, fetched{b, fp.Records})
					f.fetched += len(fp.Records)
				} else {
					f.feedNone++
				}
			})
			if !f.gate.TryLock() {
				prev = append(prev, cur...) // held: handled later, still in order
				continue
			}
			f.mu.Lock()
			for _, x := range prev {
				handle(x.b, x.recs)
			}
			f.mu.Unlock()
			f.gate.Unlock()
			prev = cur
		}
		f.mu.Lock()
		for _, x := range prev {
			handle(x.b, x.recs)
		}
		f.mu.Unlock()
	})
	var once sync.Once
	return f, func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			cl.Close()
		})
	}
}

// TestFedArchiverTakesTheConsumersVerdicts: the archiver takes a fed record's verdict
// and typed values from what the consumer noted while handling it, parsing only the
// records the consumer did not reach; the typed columns equal the evaluator's reading
// of every payload all the same, refused records get no row, and the file typed under
// other paths than a batch (the column set replaced mid-run) is typed from a parse.
func TestFedArchiverTakesTheConsumersVerdicts(t *testing.T) {
	t.Parallel()
	const partitions = 2
	b, bkt, lake := brokerAndLake(t, partitions, "mem")
	cols := lakehouse.NewColumnSet(16)
	if err := cols.Set(typedPaths); err != nil {
		t.Fatal(err)
	}
	// A lake that ends where the consumer starts, so that the archiver reads nothing
	// from Kafka itself.
	first := archiverConfig(b, bkt, "first")
	first.Columns = cols
	h := newHistory(41)
	cl := b.Client(t)
	h.produce(t, cl, 300)
	archiveAll(t, lake, h, 30*time.Second, startArchiver(t, first))
	at := map[int32]int64{}
	for p, e := range h.ends() {
		at[p] = e + 1
	}

	// ends are the partitions' last offsets, refused records included.
	ends := h.ends()
	produceOdd := func(round int) {
		var recs []*kgo.Record
		for i, s := range oddEvents {
			recs = append(recs, &kgo.Record{Topic: "events", Key: fmt.Appendf(nil, "c-odd-%d-%d", round, i), Value: []byte(s), Timestamp: time.Now()})
		}
		// Refused: no key, not JSON.
		recs = append(recs, &kgo.Record{Topic: "events", Value: []byte(`{"type":"no key"}`), Timestamp: time.Now()},
			&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"type":`), Timestamp: time.Now()})
		res := cl.ProduceSync(context.Background(), recs...)
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		odd := map[*kgo.Record]bool{}
		for _, r := range recs[:len(oddEvents)] {
			odd[r] = true
		}
		for _, r := range res {
			ends[r.Record.Partition] = max(ends[r.Record.Partition], r.Record.Offset)
			if odd[r.Record] {
				h.recs[pOff{r.Record.Partition, r.Record.Offset}] = produced{Partition: r.Record.Partition, Offset: r.Record.Offset,
					Customer: string(r.Record.Key), Time: r.Record.Timestamp, JSON: string(r.Record.Value)}
			}
		}
	}
	produce := func(n, round int) {
		h.produce(t, cl, n)
		for p, e := range h.ends() {
			ends[p] = max(ends[p], e)
		}
		produceOdd(round)
	}

	feed := lakehouse.NewFeed(0, 0, nil)
	// As RunArchiver would, but before the feeder's first fetch: a batch fetched before
	// the archiver gives its feed the column set carries no typed values, and the
	// archiver parses its noted records again (work lost, no wrong row) — which under
	// load had this test count them as parses it should not have made.
	lakehouse.SetFeedColumns(feed, cols)
	cfg, reg := meteredArchiverConfig(b, bkt, "")
	cfg.Feed, cfg.Columns = feed, cols
	stop := startArchiver(t, cfg)
	feeder, stopFeeder := startNotingFeeder(t, b.Addr, feed, at, 41)
	defer stopFeeder()
	parsed := func() int { return int(promtest.Sum(t, reg, "hindsight_lake_records_parsed_total")) }

	// 1,500 events before the typed paths change and 1,000 after; under -short 600 and
	// 400, still noted and unnoted ones each time, for 40% of the rows to archive, parse
	// and read back.
	before, after := 1500, 1000
	if testing.Short() {
		before, after = 600, 400
	}
	produce(before, 0)
	waitArchived(t, lake, ends, 30*time.Second)
	c := feeder.counts()
	if c.noted == 0 || c.unnoted == 0 || c.refused+c.unnotedRefused != 2 || c.feedNone != 0 {
		t.Fatalf("the feeder noted %d records, left %d unnoted, refused %d (and %d unnoted), had %d fetches dropped: the test wants notes, records without, 2 refusals and no drop",
			c.noted, c.unnoted, c.refused, c.unnotedRefused, c.feedNone)
	}
	if got := parsed(); got != c.unnoted {
		t.Errorf("the archiver parsed %d records, want the %d the consumer did not note", got, c.unnoted)
	}
	if got := promtest.Sum(t, reg, "hindsight_lake_records_refused_total"); got != 2 {
		t.Errorf("%v records refused, want 2", got)
	}

	// Records the consumer fetched under one list of typed paths and noted after the
	// list changed (the rules changed in between) go into files typed under the new
	// one (the lake holds them all: no file is open), which the archiver types from a
	// parse of its own.
	other := slices.DeleteFunc(append([]string{"$.actor.id"}, typedPaths...), func(s string) bool { return s == "$.nowhere" })
	const more = 200 + 7 + 2 // events, odd events, refused records
	if len(oddEvents) != 7 {
		t.Fatalf("%d odd events: more is wrong", len(oddEvents))
	}
	was, parsedWas := c, parsed()
	feeder.gate.Lock()
	produce(200, 1)
	for i := 0; feeder.counts().fetched-was.fetched < more; i++ {
		if i == 3000 {
			t.Fatalf("the feeder fetched %d of %d records", feeder.counts().fetched-was.fetched, more)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cols.Set(other); err != nil {
		t.Fatal(err)
	}
	feeder.gate.Unlock()
	waitArchived(t, lake, ends, 30*time.Second)
	c = feeder.counts()
	// Every record parsed but the refusals the consumer noted.
	if got, want := parsed()-parsedWas, more-(c.refused-was.refused); got != want {
		t.Errorf("typed paths changed: the archiver parsed %d records, want %d", got, want)
	}

	was, parsedWas = c, parsed()
	produce(after, 2)
	waitArchived(t, lake, ends, 30*time.Second)
	c = feeder.counts()
	if got, want := parsed()-parsedWas, c.unnoted-was.unnoted; got != want {
		t.Errorf("after the change: the archiver parsed %d records, want the %d the consumer did not note", got, want)
	}
	stopFeeder()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, lake, snap, h)
	if untyped := checkTyped(t, lake, snap.Files(lakehouse.Filter{}), h); untyped != 3 {
		t.Errorf("%d rows untyped, want 3 (the NULs)", untyped)
	}
}
