package lakehouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/fetcherr"
	"github.com/hindsightdev/hindsight/internal/kafkatime"
	"github.com/hindsightdev/hindsight/internal/verdict"
)

// partState is the archiver's view of one partition it owns.
type partState struct {
	next int64 // next offset to archive; -1 while unknown (partition new to the lake)
	cur  *batch
	// refusedTo is the last of a run of refused records that no file covers yet
	// (-1: none): they were handled, so they are not archive lag, though the
	// watermark only passes them with the next archived record.
	refusedTo int64
	// refusedAt is when the run of refused records up to refusedTo began; covered is
	// the last offset past the last file that the manifest says held no event, or will
	// once the pending cover commits (-1: none). A run that waits RollAge with no file
	// open is recorded as covered (coverLocked).
	refusedAt time.Time
	covered   int64
	// catchUp: the archiver reads the partition from Kafka itself (fed archivers only,
	// see feedLoop); cuNext is the offset that reading delivers next (-1: its first).
	catchUp bool
	cuNext  int64
	// deleted are offsets from next on that the broker deleted before the archiver read
	// them, not yet charged to a file: the file that takes the next record covers them
	// (chargeDeleted).
	deleted []OffsetRange
	// splits counts the files closed for a later hour since splitsFrom
	// (ArchiverConfig.MaxHourSplits).
	splits     int
	splitsFrom time.Time
}

// splitForHour says whether the open file may close because a record of a later
// event-time hour came at now: at most max times a window (max < 0: always).
func (st *partState) splitForHour(now time.Time, max int, window time.Duration) bool {
	if max < 0 {
		return true
	}
	if now.Sub(st.splitsFrom) >= window {
		st.splits, st.splitsFrom = 0, now
	}
	if st.splits >= max {
		return false
	}
	st.splits++
	return true
}

// resume sets st to continue the lake's partition s: its next file starts at the
// watermark's next offset, and the records after it that held no event (EmptyAfter)
// were read already.
func (st *partState) resume(s PartitionState) {
	st.next = s.Watermark + 1
	if s.EmptyAfter > 0 {
		st.refusedTo, st.covered = s.Through(), s.Through()
	}
}

// uncovered says whether st has a run of refused records read after its last file that
// neither a file nor a cover holds, and that a cover may hold: not while offsets the
// broker deleted unarchived wait for the next file (st.deleted), which alone can say
// so — a cover over them would record them as read, holding no event, and the loss
// would leave the lake.
func (st *partState) uncovered() bool {
	return st.cur == nil && st.next >= 0 && st.refusedTo >= st.next && st.refusedTo > st.covered && len(st.deleted) == 0
}

// cover is a run of offsets that held no event read after a partition's last file:
// those after its watermark, as after, up to to.
type cover struct{ after, to int64 }

// coverLocked queues partition p's run of refused records that no file covers for the
// next flush to record (PartitionState.EmptyAfter), once it has waited RollAge with no
// file open, as a file would have, or at once when force (the archiver is stopping).
// Kafka's retention may pass such a run before another event opens a file; unrecorded,
// it then read as records deleted before they were archived.
func (a *archiver) coverLocked(p int32, st *partState, now time.Time, force bool) {
	if !st.uncovered() {
		return
	}
	if !force && now.Sub(st.refusedAt) < a.cfg.RollAge {
		return
	}
	a.covers[p] = cover{after: st.next - 1, to: st.refusedTo}
	st.covered = st.refusedTo
}

// chargeDeleted charges the offsets deleted before next to the open file, which covers
// them from now on.
func (st *partState) chargeDeleted() {
	if len(st.deleted) > 0 && st.cur != nil {
		st.cur.deleted = append(st.cur.deleted, st.deleted...)
		st.deleted = nil
	}
}

// pollLoop appends records to open files and closes the files that are due; flushLoop
// writes them meanwhile, so encoding overlaps fetching. When ctx ends it closes every
// open file for the final flush.
func (a *archiver) pollLoop(ctx context.Context) error {
	defer close(a.pollDone)
	for ctx.Err() == nil {
		if a.waitForRoom(ctx) {
			continue
		}
		fs, closed, fatal := a.poll(ctx, a.pollWait())
		if closed {
			break
		}
		a.append(fs, time.Now())
		if fatal != nil {
			a.sealAll() // for the final flush: what was read is archived
			return fatal
		}
		a.applySeeks()
		a.cl.AllowRebalance()
		if err := a.hook("poll"); err != nil {
			return err
		}
	}
	a.sealAll()
	return nil
}

// waitForRoom waits a while when the flusher is behind (storage down or slow) and the
// buffers are over budget, so that the caller stops taking records in; it says whether
// it waited. Each pause counts once as MaxBufferedBytes reached.
func (a *archiver) waitForRoom(ctx context.Context) bool {
	over := a.overBudget()
	if over && !a.paused {
		a.limits.Reached(LimitMaxBufferedBytes)
	}
	if a.paused = over; !over {
		return false
	}
	select {
	case <-ctx.Done():
	case <-a.flushed:
	case <-time.After(100 * time.Millisecond):
	}
	return true
}

// poll fetches for at most wait, logging fetch errors; closed says the client is, and
// fatal is a fetch error retrying cannot cure (fetcherr).
func (a *archiver) poll(ctx context.Context, wait time.Duration) (fs kgo.Fetches, closed bool, fatal error) {
	pctx, cancel := context.WithTimeout(ctx, wait)
	fs = a.cl.PollFetches(pctx)
	cancel()
	if fs.IsClientClosed() {
		return nil, true, nil
	}
	fs.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		if errors.Is(err, ErrTopicMismatch) {
			// Found on an assignment (adjust), once the topic's id was learned: franz-go
			// takes the callback's error for the group session's and joins again, for
			// ever.
			fatal = fmt.Errorf("lakehouse: on an assignment: %w", err)
			return
		}
		if f := fetcherr.Fatal(topic, p, err); f != nil {
			fatal = fmt.Errorf("lakehouse: %w", f)
			return
		}
		if big, ok := errors.AsType[*kgo.ErrDecompressTooLarge](err); ok {
			// The client reports it once and fetches the partition no more: nothing past
			// the batch is archived, nor skipped, and the lag shows it.
			a.log.Error("a record batch of the events topic decompresses past --max-decompressed-batch-bytes: the archive of its partition stops at it, its events and those after it are not archived; raise the bound and restart to archive them",
				"topic", topic, "partition", p, "offset", big.Offset, "next_offset", big.NextOffset, "max_decompressed_batch_bytes", a.cfg.MaxDecompressedBatchBytes)
			if a.feed == nil {
				// With a feed, its consumer stops at the same batch and counts it.
				a.limits.Reached(LimitDecompressedBatch)
			}
			return
		}
		a.log.Warn("fetch error", "topic", topic, "partition", p, "err", err)
	})
	return fs, false, fatal
}

func (a *archiver) append(fs kgo.Fetches, now time.Time) {
	a.mu.Lock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) { a.appendLocked(fp, nil, now) })
	a.sealDueLocked(now)
	ready := len(a.ready) > 0 || len(a.covers) > 0
	a.mu.Unlock()
	if ready {
		a.kick()
	}
}

func (a *archiver) kick() {
	select {
	case a.kickCh <- struct{}{}:
	default:
	}
}

// sealAll closes every open file, and covers every run of refused records after the
// last, for the final flush.
func (a *archiver) sealAll() {
	a.mu.Lock()
	for p, st := range a.parts {
		a.sealLocked(st)
		a.coverLocked(p, st, time.Time{}, true)
	}
	a.mu.Unlock()
}

func (a *archiver) overBudget() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	var total int64
	for _, st := range a.parts {
		if st.cur != nil {
			total += st.cur.heldBytes()
		}
	}
	for _, b := range a.ready {
		total += b.heldBytes()
	}
	return total >= a.cfg.MaxBufferedBytes
}

// pollWait is how long a poll may block: until the oldest open file, or run of refused
// records to cover, is due.
func (a *archiver) pollWait() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	wait := time.Second
	for _, st := range a.parts {
		switch {
		case st.cur != nil:
			wait = min(wait, time.Until(st.cur.opened.Add(a.cfg.RollAge)))
		case st.uncovered():
			wait = min(wait, time.Until(st.refusedAt.Add(a.cfg.RollAge)))
		}
	}
	return max(wait, 5*time.Millisecond)
}

// appendLocked buffers fp's records; notes, when not nil, is what the consumer that fed
// them learned of each (verdicts and typed values), which spares parsing them again.
func (a *archiver) appendLocked(fp kgo.FetchTopicPartition, notes *FedBatch, now time.Time) {
	if fp.Topic != a.cfg.Topic {
		return
	}
	st := a.parts[fp.Partition]
	if st == nil {
		return // revoked while the fetch was in flight
	}
	if from, ls := st.unchargedFrom(), fp.LogStartOffset; st.next >= 0 && len(fp.Records) > 0 && ls > from && fp.Records[0].Offset > from {
		a.deletedUnarchived(st, fp.Partition, from, min(fp.Records[0].Offset, ls))
	}
	nowUs, _ := lakeMicros(now)
	for i, r := range fp.Records {
		if st.next >= 0 && r.Offset < st.next {
			a.met.duplicates.Inc()
			continue
		}
		marker := r.Attrs.IsControl()
		if !marker {
			a.met.read.Inc()
		}
		// The lake holds exactly what the live stage evaluates: a record it dead-letters
		// gets no row (its key could make the file unreadable, its value would be counted
		// by backfill under other rules than live's). Its offset is still covered — by the
		// open file, else by the next one, which starts at st.next — so the manifest's
		// ranges stay contiguous and the watermark moves past it with the next file.
		// A transaction marker is no event either, and is covered the same way.
		reason, known := notes.verdict(i)
		parsed := !known && !marker
		if parsed {
			reason, _ = verdict.Accept(a.doc, r.Key, r.Value)
			a.met.parsed.Inc()
		}
		if reason != "" || marker {
			if !marker {
				a.met.refused.WithLabelValues(reason).Inc()
			}
			if st.next < 0 {
				st.next = r.Offset // a partition new to the lake: its first file starts here
			}
			if st.cur != nil {
				st.chargeDeleted()
				st.cur.cover(r.Offset)
				st.next = r.Offset + 1
			} else {
				if !st.uncovered() {
					st.refusedAt = now // a run no file nor cover holds begins
				}
				// Never lower: a consumer resuming behind the manifest's run without
				// events hands its records over again, read already.
				st.refusedTo = max(st.refusedTo, r.Offset)
			}
			continue
		}
		// A producer may stamp any time, and Kafka keeps it; the lake holds the years
		// 0000 to 9999 (lakeTime), so a record stamped outside them is archived at the
		// nearest bound, counted and logged: listed as it was, its file's times would
		// make every manifest commit fail, and the partition's archive stop there.
		at, inRange := lakeMicros(kafkatime.Of(r))
		if !inRange {
			a.timeOutOfRangeLocked(fp.Partition, r)
		}
		hour := hourMicros(at)
		if st.cur != nil && hour > st.cur.hourUs {
			if st.splitForHour(now, a.cfg.MaxHourSplits, a.cfg.RollAge) {
				a.sealLocked(st)
			} else {
				a.limits.Reached(LimitHourSplits)
			}
		}
		if st.cur == nil {
			start := st.next
			if start < 0 {
				start = r.Offset
			} else if r.Offset > start && st.cur == nil {
				a.log.Debug("offsets skipped (transaction markers or compaction; deleted ones are counted apart)", "partition", fp.Partition, "from", start, "to", r.Offset-1)
			}
			st.cur = newBatch(fp.Partition, start, time.UnixMicro(hour).UTC(), now)
			st.cur.checked = true
			st.cur.typed = newTypedBatch(a.cfg.Columns.snapshot())
			st.refusedTo = -1 // the new file covers them
		}
		st.chargeDeleted()
		st.cur.add(r.Offset, at, nowUs, a.intern.get(r.Key), r.Value, true)
		if t := st.cur.typed; t != nil {
			switch {
			case parsed:
				t.add(a.doc) // a.doc still holds the parse verdict.Accept made
			case notes.typedAs(t.paths):
				t.addFed(notes, i)
			default:
				// The file types other paths than the consumer read (the rules changed
				// in between): parse after all.
				verdict.Accept(a.doc, r.Key, r.Value)
				a.met.parsed.Inc()
				t.add(a.doc)
			}
			st.cur.noteTyped()
		}
		st.next = r.Offset + 1
		if st.cur.rawBytes() >= a.cfg.RollBytes {
			a.sealLocked(st)
		}
	}
}

// timeOutOfRangeLocked counts record r of partition p, whose timestamp is outside the
// years the lake holds and is archived at the nearest bound, and logs it, at most once
// a minute (with how many came since): a producer's broken clock may stamp every record.
func (a *archiver) timeOutOfRangeLocked(p int32, r *kgo.Record) {
	a.met.timeOutOfRange.Inc()
	a.outOfRange++
	if time.Since(a.lastOutOfRangeLog) < time.Minute {
		return
	}
	a.log.Warn("records stamped outside the years 0000-9999 archived with their time at the nearest bound (event_time, the file's hour and times)",
		"topic", a.cfg.Topic, "partition", p, "offset", r.Offset, "timestamp_ms", kafkatime.Of(r).UnixMilli(), "records", a.outOfRange)
	a.outOfRange, a.lastOutOfRangeLog = 0, time.Now()
}

// unchargedFrom is the first offset from which deletions are still to be found: st.next,
// or past the deleted ranges already waiting for the next file, or past the refused
// records read since. Fetches of records that open no file (all refused) leave st.next
// where it was; a range found once must not be found again, or the file would lack it
// twice, which no manifest takes; and refused records were read, not deleted.
func (st *partState) unchargedFrom() int64 {
	from := max(st.next, st.refusedTo+1)
	if n := len(st.deleted); n > 0 {
		from = max(from, st.deleted[n-1].To+1)
	}
	return from
}

// deletedUnarchived reports that the broker deleted partition p's records from from
// up to to before the archiver read them: the log's start had passed them (the topic's
// retention outran the archive), and the client went on from there. The file that
// covers them says so in its manifest entry (FileEntry.Deleted). Offsets skipped for
// other reasons (transaction markers, compaction) leave the log's start where it was,
// so they are not recorded. hindsight_lake_deleted_unarchived_total counts them only
// when that file commits (afterCommit): found, they may yet go to another writer's
// file (a seek back), or be found again by the next run (a restart before the commit).
func (a *archiver) deletedUnarchived(st *partState, p int32, from, to int64) {
	n := to - from
	st.deleted = append(st.deleted, OffsetRange{From: from, To: to - 1})
	a.log.Warn("records were deleted by the broker before they were archived: the lake has no rows for them (the archive fell behind the topic's retention)",
		"topic", a.cfg.Topic, "partition", p, "from", from, "to", to-1, "records", n)
}

func (a *archiver) sealLocked(st *partState) {
	if st.cur != nil && st.cur.len() > 0 {
		a.ready = append(a.ready, st.cur)
	} else if st.cur != nil {
		st.cur.release()
	}
	st.cur = nil
}

func (a *archiver) sealDueLocked(now time.Time) {
	var open []*partState
	var total int64
	for p, st := range a.parts {
		if st.cur == nil {
			a.coverLocked(p, st, now, false)
			continue
		}
		if now.Sub(st.cur.opened) >= a.cfg.RollAge {
			a.sealLocked(st)
			continue
		}
		open = append(open, st)
		total += st.cur.heldBytes()
	}
	for _, b := range a.ready {
		total += b.heldBytes()
	}
	// Over the memory budget: close the biggest open files first.
	slices.SortFunc(open, func(x, y *partState) int { return int(y.cur.heldBytes() - x.cur.heldBytes()) })
	for _, st := range open {
		if total <= a.cfg.MaxBufferedBytes {
			break
		}
		total -= st.cur.heldBytes()
		a.sealLocked(st)
	}
	a.countBufferedLocked()
}

// countBufferedLocked sets the buffered-records gauge. Both the poll loop (records in)
// and a commit (records out) call it, so archived plus buffered never counts a record
// twice between polls.
func (a *archiver) countBufferedLocked() {
	buffered := 0
	for _, st := range a.parts {
		if st.cur != nil {
			buffered += st.cur.len()
		}
	}
	for _, b := range a.ready {
		buffered += b.len()
	}
	a.met.buffered.Set(float64(buffered))
}
