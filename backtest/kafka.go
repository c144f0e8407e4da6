package backtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkarange"
	"github.com/hindsightdev/hindsight/internal/kafkatime"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/window"
)

// ErrTailUnavailable wraps a failure to read from Kafka the events the lake does not
// hold: not yet (the tail), or no longer (the head, below the lake's first offset).
var ErrTailUnavailable = errors.New("backtest: the Kafka tail is unavailable")

// span is offsets [from, to) of one partition.
type span struct{ from, to int64 }

func (s span) empty() bool { return s.from >= s.to }

// kafkaReads is what one partition's backtest reads from Kafka: the head before the
// lake's files, the tail after them.
type kafkaReads struct{ head, tail span }

// kafkaLogs lists, per partition of the events topic, the offsets Kafka holds: from its
// log start to the end it has now. A topic whose log is not the lake's (snap's topic id)
// is ErrTopicMismatch.
func kafkaLogs(ctx context.Context, cfg Config, snap *lakehouse.Snapshot) (map[int32]span, error) {
	logs, err := kafkarange.Logs(ctx, kafkarange.Config{Brokers: cfg.Brokers, Opts: cfg.KafkaOpts, Topic: cfg.Topic, TopicID: snap.Manifest().TopicID})
	if errors.Is(err, kafkarange.ErrOtherLog) {
		return nil, fmt.Errorf("backtest: %w: the lake holds another log of it: %w", lakehouse.ErrTopicMismatch, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTailUnavailable, err)
	}
	out := make(map[int32]span, len(logs))
	for p, l := range logs {
		out[p] = span{l.Start, l.End}
	}
	return out, nil
}

// readsOf is what partition p's backtest reads from log, what Kafka holds of it, below
// end: the head, offsets below the lake's first one (those its retention dropped, or
// all of them for a partition the lake never had), and the tail, above what it accounts
// for (PartitionState.Through).
func readsOf(snap *lakehouse.Snapshot, p int32, log span, end int64) kafkaReads {
	log.to = min(log.to, end)
	st, ok := snap.Partition(p)
	if !ok {
		return kafkaReads{head: log}
	}
	return kafkaReads{head: span{log.from, min(st.Earliest, log.to)}, tail: span{max(st.Through()+1, log.from), log.to}}
}

// truncated is the range of partition p's offsets below what the lake and Kafka (log,
// when read) hold, when the backtest's time range may reach into it: what the lake
// dropped may be as recent as From (PartitionState.DroppedReaches), or, when Kafka
// holds more, its first record (firstRead) is after From. ok is false when nothing is
// missing there.
func truncated(cfg Config, st lakehouse.PartitionState, log *span, firstRead time.Time) (contract.MissingRange, bool) {
	start, reaches := st.Earliest, st.DroppedReaches(cfg.From)
	reason := "not in the lake (dropped by its retention, or never archived), and no brokers to read them from"
	if log != nil {
		reason = "neither in the lake (dropped by its retention, or never archived) nor retained by Kafka"
		if log.from < start && !log.empty() {
			start, reaches = log.from, cfg.From.IsZero() || firstRead.IsZero() || cfg.From.Before(firstRead)
		}
	}
	if start <= 0 || !reaches {
		return contract.MissingRange{}, false
	}
	return contract.MissingRange{Partition: st.Partition, From: 0, To: start - 1, Reason: reason}, true
}

// kafka evaluates partition p's offsets rng (above *prev) from Kafka through rp: the
// records live would have evaluated (verdict.Accept), as a row each. first, when set,
// is told the record time of the first record read.
func (r *runner) kafka(ctx context.Context, rp *window.Replay, p int32, rng span, prev *int64, first *time.Time) error {
	cfg := kafkarange.Config{Brokers: r.cfg.Brokers, Opts: r.cfg.KafkaOpts, Topic: r.cfg.Topic}
	err := kafkarange.Read(ctx, cfg, map[int32]kafkarange.Range{p: {From: max(rng.from, *prev+1), To: rng.to - 1}}, func(rec *kgo.Record) error {
		at := kafkatime.Of(rec)
		if first != nil && first.IsZero() {
			*first = at
		}
		*prev = rec.Offset
		r.rep.TailRecords++
		if !r.inRange(string(rec.Key), at) || r.before(rec.Offset, at) {
			return nil
		}
		if reason, _ := verdict.Accept(r.doc, rec.Key, rec.Value); reason != "" {
			r.rep.Invalid++ // dead-lettered by live: counts nowhere
			return nil
		}
		return r.evaluate(rp, p, rec.Offset, string(rec.Key), at)
	})
	if errors.Is(err, kafkarange.ErrUnavailable) {
		return fmt.Errorf("%w: partition %d: %w", ErrTailUnavailable, p, err)
	}
	return err
}
