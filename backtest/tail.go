package backtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/window"
)

// tailPollTimeout bounds one poll of the Kafka tail that brings no record.
const tailPollTimeout = 15 * time.Second

// ErrTailUnavailable wraps a failure to read from Kafka the events the lake does not
// hold yet.
var ErrTailUnavailable = errors.New("backtest: the Kafka tail is unavailable")

// tailRanges lists, per partition of the events topic, the offsets the lake does not
// hold: from the lake's watermark + 1 (or Kafka's first retained offset) to the end
// Kafka had when the backtest began, [from, to).
func tailRanges(ctx context.Context, cfg Config, watermark func(int32) int64) (map[int32][2]int64, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, cfg.KafkaOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("%w: client: %w", ErrTailUnavailable, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, cfg.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: listing the first offsets of %s: %w", ErrTailUnavailable, cfg.Topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, cfg.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: listing the end offsets of %s: %w", ErrTailUnavailable, cfg.Topic, err)
	}
	out := map[int32][2]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		from := watermark(o.Partition) + 1
		if s, ok := starts.Lookup(cfg.Topic, o.Partition); ok {
			from = max(from, s.Offset)
		}
		if from < o.Offset {
			out[o.Partition] = [2]int64{from, o.Offset}
		}
	})
	return out, nil
}

// tailRange is partition p's offsets [from, end) that Kafka still holds (from at least
// its first retained offset), as tailRanges gives them.
func tailRange(ctx context.Context, cfg Config, p int32, from, end int64) (map[int32][2]int64, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, cfg.KafkaOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("%w: client: %w", ErrTailUnavailable, err)
	}
	defer cl.Close()
	starts, err := kadm.NewClient(cl).ListStartOffsets(ctx, cfg.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: listing the first offsets of %s: %w", ErrTailUnavailable, cfg.Topic, err)
	}
	if s, ok := starts.Lookup(cfg.Topic, p); ok {
		from = max(from, s.Offset)
	}
	if from >= end {
		return nil, nil
	}
	return map[int32][2]int64{p: {from, end}}, nil
}

// tail evaluates partition p's offsets [from, to) from Kafka through rp, after the
// lake's: the records live would have evaluated (verdict.Accept), as a row each.
func (r *runner) tail(ctx context.Context, rp *window.Replay, p int32, rng [2]int64, prev *int64) error {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(r.cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{r.cfg.Topic: {p: kgo.NewOffset().At(rng[0])}}),
		// An offset retention removed meanwhile must fail the read, not skip ahead.
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
	}, r.cfg.KafkaOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("%w: client: %w", ErrTailUnavailable, err)
	}
	defer cl.Close()
	for *prev < rng[1]-1 {
		// A poll that brings nothing for tailPollTimeout fails the read (the caller
		// retries), rather than holding its goroutine on offsets that never come.
		pctx, cancel := context.WithTimeout(ctx, tailPollTimeout)
		fs := cl.PollFetches(pctx)
		timedOut := pctx.Err() != nil
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		if timedOut && fs.NumRecords() == 0 {
			return fmt.Errorf("%w: partition %d: no record at offsets %d to %d within %s", ErrTailUnavailable, p, *prev+1, rng[1]-1, tailPollTimeout)
		}
		var fetchErr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.Canceled) {
				fetchErr = fmt.Errorf("%w: partition %d: %w", ErrTailUnavailable, p, err)
			}
		})
		if fetchErr != nil {
			return fetchErr
		}
		var evalErr error
		fs.EachRecord(func(rec *kgo.Record) {
			if evalErr != nil || rec.Offset <= *prev || rec.Offset >= rng[1] {
				return
			}
			*prev = rec.Offset
			r.rep.TailRecords++
			if !r.inRange(string(rec.Key), rec.Timestamp) || r.before(rec.Offset, rec.Timestamp) {
				return
			}
			if reason, _ := verdict.Accept(r.doc, rec.Key, rec.Value); reason != "" {
				r.rep.Invalid++ // dead-lettered by live: counts nowhere
				return
			}
			evalErr = r.evaluate(rp, p, rec.Offset, string(rec.Key), rec.Timestamp)
		})
		if evalErr != nil {
			return evalErr
		}
		// Offsets at the end of the range that hold no record (transaction markers,
		// compaction) end it: a fetch past them comes back empty.
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			if len(fp.Records) == 0 && fp.Err == nil && fp.HighWatermark >= rng[1] {
				*prev = max(*prev, rng[1]-1)
			}
		})
	}
	return nil
}
