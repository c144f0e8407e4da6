// Package kafkarange reads fixed ranges of offsets of a topic's partitions from Kafka:
// the part of history the lake does not hold, which backfill and backtest read. Logs
// lists what Kafka holds of each partition, from which they choose those ranges.
//
// Records are read committed, as live reads them: an aborted transaction's are not
// delivered. A read ends at each range's last offset whatever that offset holds. A record
// does; so does a transaction marker, which the reader asks the brokers to deliver (and
// does not pass on) precisely so that a range ending on one ends; a range ending on an
// aborted record ends at the marker after it, once the brokers deliver that marker (not
// while another transaction begun before it is open: the poll timeout then fails the
// read, and the caller's retry finds it). A poll that brings nothing for
// the poll timeout fails the read with ErrUnavailable instead of waiting for offsets
// that will never come (the caller retries, with what it then lists as the log's end):
// a read never holds its goroutine forever.
package kafkarange

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultPollTimeout is Config.PollTimeout's default.
const DefaultPollTimeout = 15 * time.Second

// ErrUnavailable wraps every failure to read a range from Kafka (client, fetch errors,
// no record within the poll timeout); an error of the caller's fn is returned as is.
var ErrUnavailable = errors.New("kafkarange: the offsets are not readable from Kafka")

// Range is the offsets From to To of a partition, both included.
type Range struct{ From, To int64 }

// Config says where to read.
type Config struct {
	Brokers []string
	// Opts are added to the reader's client options (TLS, SASL).
	Opts  []kgo.Opt
	Topic string
	// TopicID, if set, is the id (base64, as kadm shows it) of the topic's log the
	// caller holds the rest of: Logs fails with ErrOtherLog if the topic now has another
	// (deleted and made again: its offsets are not the ones the caller's are).
	TopicID string
	// PollTimeout bounds a poll that brings nothing. Default DefaultPollTimeout.
	PollTimeout time.Duration
	// AfterPoll, if set, runs after each poll's records (progress reports).
	AfterPoll func()
}

// Read calls fn with each data record of ranges (partition → offsets), in offset order
// within a partition, and returns once every range is read, fn fails, or ctx ends.
func Read(ctx context.Context, cfg Config, ranges map[int32]Range, fn func(*kgo.Record) error) error {
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = DefaultPollTimeout
	}
	offsets := map[int32]kgo.Offset{}
	last := map[int32]int64{}
	for p, r := range ranges {
		if r.From <= r.To {
			offsets[p] = kgo.NewOffset().At(r.From)
			last[p] = r.To
		}
	}
	if len(last) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: offsets}),
		// An offset retention removed after the caller listed the log's start must fail
		// the read (the caller retries and reports the range), not skip ahead silently.
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		// As live reads the topic (docs/architecture.md, "Transactions"): an aborted
		// transaction's records are left out; its markers are kept, so that a range
		// ending at one ends.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	}, cfg.Opts...)...)
	if err != nil {
		return fmt.Errorf("%w: client: %w", ErrUnavailable, err)
	}
	defer cl.Close()
	for len(last) > 0 {
		pctx, cancel := context.WithTimeout(ctx, cfg.PollTimeout)
		fs := cl.PollFetches(pctx)
		timedOut := pctx.Err() != nil
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		if timedOut && fs.NumRecords() == 0 {
			return fmt.Errorf("%w: no record of %s within %s, waiting for offsets up to %v", ErrUnavailable, cfg.Topic, cfg.PollTimeout, last)
		}
		var fetchErr error
		fs.EachError(func(_ string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && fetchErr == nil {
				fetchErr = fmt.Errorf("%w: partition %d: %w", ErrUnavailable, p, err)
			}
		})
		if fetchErr != nil {
			return fetchErr
		}
		var fnErr error
		fs.EachRecord(func(rec *kgo.Record) {
			to, reading := last[rec.Partition]
			if fnErr != nil || !reading {
				return
			}
			if rec.Offset >= to {
				delete(last, rec.Partition) // a record past the range ends it too (offset `to` compacted away)
			}
			if rec.Offset > to || rec.Attrs.IsControl() {
				return
			}
			fnErr = fn(rec)
		})
		if fnErr != nil {
			return fnErr
		}
		if cfg.AfterPoll != nil {
			cfg.AfterPoll()
		}
	}
	return nil
}
