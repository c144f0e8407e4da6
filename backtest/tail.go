package backtest

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkarange"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/window"
)

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
	cfg := kafkarange.Config{Brokers: r.cfg.Brokers, Opts: r.cfg.KafkaOpts, Topic: r.cfg.Topic}
	err := kafkarange.Read(ctx, cfg, map[int32]kafkarange.Range{p: {From: max(rng[0], *prev+1), To: rng[1] - 1}}, func(rec *kgo.Record) error {
		*prev = rec.Offset
		r.rep.TailRecords++
		if !r.inRange(string(rec.Key), rec.Timestamp) || r.before(rec.Offset, rec.Timestamp) {
			return nil
		}
		if reason, _ := verdict.Accept(r.doc, rec.Key, rec.Value); reason != "" {
			r.rep.Invalid++ // dead-lettered by live: counts nowhere
			return nil
		}
		return r.evaluate(rp, p, rec.Offset, string(rec.Key), rec.Timestamp)
	})
	if errors.Is(err, kafkarange.ErrUnavailable) {
		return fmt.Errorf("%w: partition %d: %w", ErrTailUnavailable, p, err)
	}
	return err
}
