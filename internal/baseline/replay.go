package baseline

import (
	"context"
	"fmt"
	"sync"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// ReplayKafka reads topic from the start up to end (exclusive, per partition) and
// counts per customer the events that set matches, the way the live evaluator does:
// one goroutine per partition, each with its own Document and Matcher. Invalid JSON and
// keyless records count nowhere, as in live. opts reach the brokers (kgo.SeedBrokers
// and whatever else the cluster needs).
func ReplayKafka(ctx context.Context, opts []kgo.Opt, topic string, end map[int32]int64, set *rule.Set) (map[string]int64, error) {
	offsets := map[int32]kgo.Offset{}
	for p := range end {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		// Large fetches: the fewest round trips the baseline can make.
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))...)
	if err != nil {
		return nil, fmt.Errorf("baseline: replay client: %w", err)
	}
	defer cl.Close()

	type worker struct {
		in     chan []*kgo.Record
		counts map[string]int64
	}
	var wg sync.WaitGroup
	workers := map[int32]*worker{}
	for p := range end {
		w := &worker{in: make(chan []*kgo.Record, 16), counts: map[string]int64{}}
		workers[p] = w
		wg.Go(func() {
			doc := jsonpath.NewDocument()
			m := set.NewMatcher()
			var dst []*rule.Rule
			for recs := range w.in {
				for _, r := range recs {
					if len(r.Key) == 0 || doc.Reset(r.Value) != nil {
						continue
					}
					customer := unsafe.String(unsafe.SliceData(r.Key), len(r.Key))
					if dst = m.Match(customer, doc, dst[:0]); len(dst) > 0 {
						w.counts[string(r.Key)] += int64(len(dst))
					}
				}
			}
		})
	}
	finish := func() map[string]int64 {
		for _, w := range workers {
			close(w.in)
		}
		wg.Wait()
		out := map[string]int64{}
		for _, w := range workers {
			for c, k := range w.counts {
				out[c] += k
			}
		}
		return out
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
			return nil, err
		}
		var ferr error
		fs.EachError(func(_ string, p int32, err error) { ferr = fmt.Errorf("baseline: replaying partition %d: %w", p, err) })
		if ferr != nil {
			finish()
			return nil, ferr
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
				workers[fp.Partition].in <- recs[:i]
			}
			if recs[len(recs)-1].Offset >= last {
				delete(remaining, fp.Partition)
			}
		})
	}
	return finish(), nil
}
