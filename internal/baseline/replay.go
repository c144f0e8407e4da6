package baseline

import (
	"context"
	"fmt"
	"sync"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatime"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// ReplayKafka reads topic from the start up to end (exclusive, per partition) and
// counts per customer the events that set matches, the way the live evaluator does:
// one goroutine per partition, each with its own Document and Matcher. Invalid JSON and
// keyless records count nowhere, as in live. opts reach the brokers (kgo.SeedBrokers
// and whatever else the cluster needs).
func ReplayKafka(ctx context.Context, opts []kgo.Opt, topic string, end map[int32]int64, set *rule.Set) (map[string]int64, error) {
	var mu sync.Mutex
	out := map[string]int64{}
	err := replay(ctx, opts, topic, end, func(int32) (func([]*kgo.Record), func()) {
		doc := jsonpath.NewDocument()
		m := set.NewMatcher()
		counts := map[string]int64{}
		var dst []*rule.Rule
		return func(recs []*kgo.Record) {
				for _, r := range recs {
					if len(r.Key) == 0 || doc.Reset(r.Value) != nil {
						continue
					}
					customer := unsafe.String(unsafe.SliceData(r.Key), len(r.Key))
					if dst = m.Match(customer, doc, dst[:0]); len(dst) > 0 {
						counts[string(r.Key)] += int64(len(dst))
					}
				}
			}, func() {
				mu.Lock()
				defer mu.Unlock()
				for c, k := range counts {
					out[c] += k
				}
			}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReplayKafkaWindows reads topic as ReplayKafka does and runs each partition's events,
// in offset order, through a window.Replay of set under lim — what the live evaluator
// does for rules kept per group and window — and returns the crossings per rule key.
func ReplayKafkaWindows(ctx context.Context, opts []kgo.Opt, topic string, end map[int32]int64, set *rule.Set, lim window.Limits) (map[rule.Key]int, error) {
	var mu sync.Mutex
	out := map[rule.Key]int{}
	err := replay(ctx, opts, topic, end, func(int32) (func([]*kgo.Record), func()) {
		doc := jsonpath.NewDocument()
		rp := window.NewReplay(set, lim)
		fired := map[rule.Key]int{}
		var found []window.Result
		return func(recs []*kgo.Record) {
				for _, r := range recs {
					if len(r.Key) == 0 || doc.Reset(r.Value) != nil {
						continue
					}
					found = rp.Add(r.Offset, string(r.Key), doc, kafkatime.Of(r), found[:0])
					for _, x := range found {
						fired[x.Rule.Key()]++
					}
				}
			}, func() {
				mu.Lock()
				defer mu.Unlock()
				for k, n := range fired {
					out[k] += n
				}
			}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// replay reads topic from the start up to end (exclusive, per partition) and hands each
// partition's records, in offset order, to the consumer newWorker made for it, on a
// goroutine of its own; each worker's done runs once its records are all handed over.
func replay(ctx context.Context, opts []kgo.Opt, topic string, end map[int32]int64, newWorker func(p int32) (consume func([]*kgo.Record), done func())) error {
	offsets := map[int32]kgo.Offset{}
	for p := range end {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), // as live and backfill read
		// Large fetches: the fewest round trips the baseline can make.
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))...)
	if err != nil {
		return fmt.Errorf("baseline: replay client: %w", err)
	}
	defer cl.Close()

	var wg sync.WaitGroup
	inputs := map[int32]chan []*kgo.Record{}
	for p := range end {
		in := make(chan []*kgo.Record, 16)
		inputs[p] = in
		consume, done := newWorker(p)
		wg.Go(func() {
			defer done()
			for recs := range in {
				consume(recs)
			}
		})
	}
	finish := func() {
		for _, in := range inputs {
			close(in)
		}
		wg.Wait()
	}
	remaining := map[int32]bool{}
	for p, e := range end {
		if e > 0 {
			remaining[p] = true
		}
	}
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			finish()
			return err
		}
		var ferr error
		fs.EachError(func(_ string, p int32, err error) { ferr = fmt.Errorf("baseline: replaying partition %d: %w", p, err) })
		if ferr != nil {
			finish()
			return ferr
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			recs := fp.Records
			if len(recs) == 0 {
				return
			}
			last := end[fp.Partition] - 1
			i := len(recs)
			for i > 0 && recs[i-1].Offset > last {
				i--
			}
			if i > 0 {
				inputs[fp.Partition] <- recs[:i]
			}
			if recs[len(recs)-1].Offset >= last {
				delete(remaining, fp.Partition)
			}
		})
	}
	finish()
	return nil
}
