package notify

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/bytedance/sonic"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/fetcherr"
)

// The memory of open firings (open.go) is in memory, and a partition's committed
// offset is past the muted firings it read: a restart, or the partition's move to
// another member, forgot them, so a muted firing still open was never sent when its
// mute ended, and its resolve went, unmuted, to a receiver never paged for it. So when
// a partition is assigned, before any of its records is handled, the stage reads its
// alerts again from Config.RememberFor before now up to its committed offset,
// delivering nothing, and remembers the firings its record says muted whose mute it
// knows (in force, or ended or deleted since: mutedThen) and not resolved since. A
// firing sent by an earlier run as its mute ended is remembered muted again, and sent
// again if its mute is over (the same Idempotency-Key): at least once. Other firings'
// deliveries are not known to it, and their resolves are judged on their own, as
// before.

// unreadCheck is how long a read of a partition's alerts waits for records before it
// looks whether the broker deleted those it was to read (retention), which it would
// otherwise wait for without end.
const unreadCheck = 5 * time.Second

// adjustFetchOffsets is the stage's kgo.AdjustFetchOffsetsFn: it notes where each
// partition resumes (resumedAt) and, before any is fetched, remembers the muted firings
// still open of the alerts before their committed offsets (reread). franz-go calls it
// in the goroutine that fetches the group's offsets, while the member heartbeats, and
// fetches none of these partitions until it returns; ctx ends with the group session
// (a rebalance) or the client. A failed reading only loses the memory, as before: the
// partitions are read on.
func (s *Stage) adjustFetchOffsets(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	offsets, err := s.resumedAt(ctx, offsets)
	if err != nil {
		return offsets, err
	}
	committed := map[int32]int64{}
	for p, o := range offsets[s.cfg.Topics.Alerts] {
		if at := o.EpochOffset().Offset; at > 0 {
			committed[p] = at
			s.mu.Lock()
			gen := s.assignGen[p]
			s.mu.Unlock()
			if t := s.tracker(p, gen); t != nil {
				t.resumed(at)
			}
		}
	}
	if err := s.reread(ctx, committed); err != nil && ctx.Err() == nil {
		s.log.Warn("the notify stage could not read its partitions' alerts again to remember the muted firings still open: those are not sent when their mutes end, and their resolves are judged on their own",
			"err", err)
	}
	return offsets, nil
}

// reread reads each partition's alerts from Config.RememberFor before now up to its
// committed offset (committed), remembering the muted firings still open. A partition
// whose reading fails (its offset by time not found, or the reading itself) is noted as
// not read again from when the reading began (tracker.lookBackFailed): a resolve read
// later whose firing it would have remembered is logged as such, not taken for one
// older than the look-back.
func (s *Stage) reread(ctx context.Context, committed map[int32]int64) (err error) {
	if len(committed) == 0 {
		return nil
	}
	topic := s.cfg.Topics.Alerts
	began := time.Now()
	s.mu.Lock()
	gens := make(map[int32]uint64, len(committed))
	for p := range committed {
		gens[p] = s.assignGen[p]
	}
	s.mu.Unlock()
	// unread are the partitions whose offset by time is not found yet, and left those
	// being read: on an error, neither is read again.
	unread := maps.Clone(committed)
	left := map[int32]*tracker{}
	defer func() {
		if err == nil {
			return
		}
		for p := range unread {
			if t := s.tracker(p, gens[p]); t != nil {
				s.open.lookedBack(t, began, true)
			}
		}
		for _, t := range left {
			s.open.lookedBack(t, began, true)
		}
	}()
	// Read as the stage reads: committed records, markers kept, so that the reading
	// reaches a committed offset just past a transaction's marker, which it otherwise
	// waited for without end, fetching none of the member's partitions
	// (TestRereadStuckBehindATransactionMarker).
	cl, err := s.cfg.Kafka.NewClient(kgo.FetchMaxBytes(ingest.DefaultFetchMaxBytes), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return fmt.Errorf("making the client that reads the alerts again: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	since := began.Add(-s.cfg.RememberFor)
	after, err := adm.ListOffsetsAfterMilli(ctx, since.UnixMilli(), topic)
	if err != nil {
		return fmt.Errorf("listing the alerts offsets after %s (--notify-remember-for): %w", since.UTC().Format(time.RFC3339), err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("listing the alerts partitions' start offsets: %w", err)
	}
	read := map[int32]kgo.Offset{}
	var cut []int32
	var lookupErr error
	for p, end := range committed {
		t := s.tracker(p, gens[p])
		lo, ok := after.Lookup(topic, p)
		if !ok || lo.Err != nil {
			// Read from its committed offset, nothing would be read again, and the
			// partition noted as read from since had a resolve whose firing was muted
			// within the look-back taken for one older than it (counted, and
			// --notify-remember-for raised in vain) or for one remembered.
			if lookupErr == nil {
				lookupErr = fmt.Errorf("partition %d: %w", p, cmp.Or(lo.Err, errors.New("not listed")))
			}
			continue // in unread
		}
		delete(unread, p)
		from := end
		if lo.Offset >= 0 {
			from = min(from, lo.Offset)
		}
		if so, ok := starts.Lookup(topic, p); ok && so.Err == nil && so.Offset < from {
			// Not the limit reached: most partitions of a topic kept longer than the
			// look-back are so, and nearly none has a muted firing open that old. A
			// resolve read later shows one (forgottenByLookBack); it is counted then.
			cut = append(cut, p)
			if t != nil {
				s.open.lookedBack(t, since, false)
			}
		}
		if from >= end || t == nil {
			continue
		}
		read[p], left[p] = kgo.NewOffset().At(from), t
	}
	if len(cut) > 0 {
		s.log.Debug("alerts before the notify stage's look-back (--notify-remember-for) are not read again",
			"partitions", cut, "since", since.UTC().Format(time.RFC3339))
	}
	if lookupErr != nil {
		// The others are read on; the error, returned at the end, marks these (unread).
		defer func() {
			if err == nil {
				err = fmt.Errorf("finding the alerts offsets after %s (--notify-remember-for): %w", since.UTC().Format(time.RFC3339), lookupErr)
			}
		}()
	}
	if len(read) == 0 {
		return nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: read})
	firings := 0
	for len(left) > 0 {
		pctx, cancel := context.WithTimeout(ctx, unreadCheck)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		var fatal error
		fs.EachError(func(t string, p int32, err error) {
			if f := fetcherr.Fatal(t, p, err); f != nil && fatal == nil {
				fatal = f
			}
		})
		if fatal != nil {
			return fmt.Errorf("reading the alerts again: %w", fatal)
		}
		got := false
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			t, end := left[fp.Partition], committed[fp.Partition]
			if t == nil || len(fp.Records) == 0 {
				return
			}
			got = true
			for _, rec := range fp.Records {
				if rec.Offset >= end {
					break
				}
				if s.rereadRecord(t, rec) {
					firings++
				}
			}
			// Past the committed offset, or at the log's end (the offsets before it not
			// records: a transaction's markers): the partition is read.
			if next := fp.Records[len(fp.Records)-1].Offset + 1; next >= end || next >= fp.HighWatermark {
				delete(left, fp.Partition)
				cl.PauseFetchPartitions(map[string][]int32{topic: {fp.Partition}})
			}
		})
		if !got {
			if err := s.rereadGone(ctx, adm, left, committed); err != nil {
				return err
			}
		}
	}
	s.log.Info("muted firings still open remembered again from the alerts before the committed offsets",
		"partitions", len(read), "firings", firings, "since", since.UTC().Format(time.RFC3339))
	return nil
}

// rereadGone drops from left the partitions whose records up to their committed offset
// the broker deleted (their log starts at or past it): none is coming.
func (s *Stage) rereadGone(ctx context.Context, adm *kadm.Client, left map[int32]*tracker, committed map[int32]int64) error {
	starts, err := adm.ListStartOffsets(ctx, s.cfg.Topics.Alerts)
	if err != nil {
		return fmt.Errorf("listing the alerts partitions' start offsets: %w", err)
	}
	for p := range left {
		if so, ok := starts.Lookup(s.cfg.Topics.Alerts, p); ok && so.Err == nil && so.Offset >= committed[p] {
			delete(left, p)
		}
	}
	return nil
}

// rereadRecord remembers rec's alert in t, delivering nothing, if it is a firing its
// record says muted whose mute the stage knows, in force or ended or deleted since; a
// resolve forgets its firing. It reports whether a firing was remembered.
func (s *Stage) rereadRecord(t *tracker, rec *kgo.Record) bool {
	if rec.Attrs.IsControl() {
		return false // a transaction's marker: read past, no alert
	}
	if bytes.HasSuffix(rec.Value, noNotifyEnd) || bytes.HasSuffix(rec.Value, noNotifyMutedEnd) {
		return false
	}
	var a contract.Alert
	if sonic.Unmarshal(rec.Value, &a) != nil || checkAlert(&a) != nil || len(a.Notify) == 0 {
		return false // skipped, and counted, when it was first read
	}
	if a.Status == contract.StatusResolved {
		s.open.recall(t, a.AlertID)
		return false
	}
	// A firing the stage muted by a mute in force as it read it, its record not muted,
	// cannot be told from one it delivered: judged on its own, as before.
	if !a.Muted || (s.reg.Muted(a.RuleID, a.Customer, time.Now()) == nil && !s.mutedThen(&a, rec.Timestamp)) {
		s.open.noteReadAgain(t, a.AlertID, a.WindowStart)
		return false
	}
	now := time.Now().UTC()
	d := &contract.AlertDelivery{Alert: a, Partition: rec.Partition, Offset: rec.Offset, Received: now}
	for _, name := range a.Notify {
		d.Destinations = append(d.Destinations, contract.DestinationState{Name: name, State: contract.DeliveryMuted, Updated: now})
	}
	return s.open.remember(t, d, rec.Offset, true, true) != nil
}
