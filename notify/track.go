package notify

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Offsets are committed only below alerts that are handled: delivered, or recorded
// undelivered, at every destination they name. A partition's tracker lists its alerts
// in offset order, each with the number of deliveries still open; the commit is the
// offset after the longest handled prefix. So a crash re-delivers what was not
// handled, and never skips it (at least once).
//
// The alerts read since a partition's oldest unhandled one are its pending alerts: a
// restart delivers them again. Their count, over the partitions, is bounded by
// Config.MaxPending: at it, reading waits (waitPending) until the oldest are handled.
// Without it, one delivery waiting (a receiver that hangs until the retry budget is
// spent; for ever, a give-up whose undelivered record the topic does not take) held an
// entry for every alert read after it, without end. The entries held are the open ones
// only: finished entries behind an open one are dropped at each commit (compact), so
// that memory follows the deliveries in hand, which the queues bound, and the count of
// pending alerts is kept as sequence numbers.

// entry is one alert record's open deliveries, plus a hold of its own released once
// they are counted (so that an entry is never handled before its jobs exist).
type entry struct {
	offset int64
	epoch  int32
	// seq is the entry's place among its tracker's entries, counted from 0.
	seq  int64
	open atomic.Int32
	// tracker is the one the entry is in: while it is its partition's, the partition
	// is still this member's since the entry was read (Stage.ours).
	tracker *tracker
}

func (e *entry) add(n int) { e.open.Add(int32(n)) }

// done ends one of e's deliveries (or its own hold); the last wakes a reading loop
// waiting for pending alerts to be handled.
func (e *entry) done() {
	if e.open.Add(-1) == 0 {
		e.tracker.signal()
	}
}

// tracker is one partition's entries, in offset order, and the offset after the last
// record seen. Records with nothing to deliver (most of them) get no entry: below the
// first open entry, everything seen is handled.
type tracker struct {
	mu sync.Mutex
	// entries are, in offset order, the open entries and those ended since the last
	// compact; those before head are popped.
	entries []*entry
	head    int
	// tracked counts the entries ever added (the next one's seq); pending is, as
	// last popped, those from the first entry not popped on (0 when none is left),
	// counted too in total (the stage's count over its partitions) while the tracker
	// is its partition's. forgotten: it is no longer (Stage.forget).
	tracked, pending int64
	total            *atomic.Int64
	forgotten        bool
	// wake, if set, is signalled when an entry's deliveries end (done).
	wake chan struct{}
	// seen is the offset after the last record read, with its leader epoch.
	seen      kgo.EpochOffset
	committed int64
	// readTo is the offset after the last record handled (a transaction's marker
	// too), or the one the partition resumed at. The check for ended mutes sends an
	// owed firing only once it has passed the mute's end (Stage.passed): an unread
	// record may be its resolve. By offset alone: record times are stamped as each
	// member produced them, on its own clock, so they are in no strict order along the
	// partition.
	readTo int64

	// ctx ends when the partition is revoked or lost (settle): the requests made for
	// its alerts stop then, and no more start (Stage.ours).
	ctx    context.Context
	cancel context.CancelFunc
	// work counts the deliveries and undelivered writes under way for its alerts
	// (Stage.begin); settle waits for it to fall to 0 (idle, whose L is mu).
	work int
	idle sync.Cond

	// firings are the partition's remembered firings by alert id, and firingsGone
	// says the partition went (openFirings.drop), both under the stage's
	// openFirings.mu.
	firings     map[string]*openFiring
	firingsGone bool
	// lookBack is, when the partition's alerts before its committed offset go further
	// back than its reading again (reread.go), where that reading began
	// (Config.RememberFor before it ran), under openFirings.mu too: a resolve read later
	// whose firing is not remembered may be one of a muted firing older than it
	// (Stage.forgottenByLookBack). Zero: nothing was left out. lookBackFailed says the
	// reading failed for the partition (its offset by time not found, the reading
	// itself failed): then lookBack is when it began, nothing before it known to be
	// read again.
	lookBack       time.Time
	lookBackFailed bool
	// readAgain are the alert ids of the firings its reading again read, not
	// remembered (not muted), and of those forgotten at Config.MaxOpenFirings, whose
	// windows began before lookBack, under openFirings.mu too: by its window alone, the
	// resolve of one was taken for that of a firing written before the look-back
	// (Stage.forgottenByLookBack).
	readAgain map[string]struct{}
}

// tracker returns p's tracker, made if missing; nil if p is not this member's, or no
// longer under assignment gen (revoked since, perhaps assigned back).
func (s *Stage) tracker(p int32, gen uint64) *tracker {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.owned[p] || s.assignGen[p] != gen {
		return nil
	}
	t := s.parts[p]
	if t == nil {
		t = newTracker(s.gctx)
		t.total, t.wake = &s.pending, s.wake
		s.parts[p] = t
	}
	return t
}

// signal wakes a reading loop waiting in waitPending, if any.
func (t *tracker) signal() {
	if t.wake == nil {
		return
	}
	select {
	case t.wake <- struct{}{}:
	default: // one is waiting to be taken already
	}
}

// newTracker is a tracker that has seen nothing: nothing to commit until a record is
// seen. (A zero seen would be offset 0 to commit, moving the group back to the start
// of the partition if the commit ran before the first record was noted.) Its context
// is parent's until the partition goes.
func newTracker(parent context.Context) *tracker {
	t := &tracker{committed: -1, seen: kgo.EpochOffset{Epoch: -1, Offset: -1}}
	t.ctx, t.cancel = context.WithCancel(parent)
	t.idle.L = &t.mu
	return t
}

// ours reports whether e's partition has stayed this member's since e was read: a
// partition revoked (even if assigned back since), or being revoked, is read again
// from its committed offset, by whichever member owns it, and its alerts delivered
// from there.
func (s *Stage) ours(partition int32, e *entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.parts[partition] == e.tracker && e.tracker.ctx.Err() == nil
}

// begin counts a delivery or undelivered write of e's alert as under way, if its
// partition is still this member's (ours), and returns the context it is to run
// under: it ends when the partition is revoked or lost. The caller calls
// e.tracker.end once the work is over.
func (s *Stage) begin(partition int32, e *entry) (context.Context, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := e.tracker
	if s.parts[partition] != t || t.ctx.Err() != nil {
		return nil, false
	}
	t.mu.Lock()
	t.work++
	t.mu.Unlock()
	return t.ctx, true
}

// end ends a piece of work begin counted.
func (t *tracker) end() {
	t.mu.Lock()
	if t.work--; t.work == 0 {
		t.idle.Broadcast()
	}
	t.mu.Unlock()
}

// settleWait bounds how long a revoke waits for the work under way for a partition's
// alerts to end: an HTTP request stops as soon as its context ends, but a produce
// already sent waits for the broker's answer, and the rebalance waits for us. Half the
// group's rebalance timeout (franz-go's default, 60 s), past which the group would
// go on without this member, the partitions lost anyway.
const settleWait = 30 * time.Second

// settle ends the context of the given partitions' trackers and waits, up to
// settleWait, for their work under way to end. A request left on the wire as the
// partition went to another member could be accepted after that member's own (a
// PagerDuty trigger after the next owner's resolve: the incident then stays open),
// and an undelivered record could land for an alert the next owner delivers.
func (s *Stage) settle(ps []int32) {
	s.mu.Lock()
	var ts []*tracker
	for _, p := range ps {
		if t := s.parts[p]; t != nil {
			t.cancel()
			ts = append(ts, t)
		}
	}
	s.mu.Unlock()
	deadline := time.Now().Add(settleWait)
	for _, t := range ts {
		if !t.waitIdle(time.Until(deadline)) {
			s.log.Warn("work for a partition taken away was still under way after the wait for it: its next owner may deliver its alerts while a request or an undelivered record of ours is still on its way",
				"wait", settleWait)
			return
		}
	}
}

// waitIdle waits up to d for t's work to end; false when it had not.
func (t *tracker) waitIdle(d time.Duration) bool {
	if d <= 0 {
		d = 0
	}
	// The deadline before the timer, which so fires at it or after: fired before, it
	// would leave the wait below asleep with no one to wake it.
	deadline := time.Now().Add(d)
	timer := time.AfterFunc(d, func() {
		t.mu.Lock()
		t.idle.Broadcast()
		t.mu.Unlock()
	})
	defer timer.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.work > 0 {
		if !time.Now().Before(deadline) {
			return false
		}
		t.idle.Wait()
	}
	return true
}

// seen records that rec was read; handled records need nothing more. It is false
// when rec's partition is no longer this member's.
func (s *Stage) seen(rec *kgo.Record, gen uint64) bool {
	t := s.tracker(rec.Partition, gen)
	if t == nil {
		return false
	}
	t.mu.Lock()
	t.seen = kgo.EpochOffset{Epoch: rec.LeaderEpoch, Offset: rec.Offset + 1}
	t.readLocked(rec)
	t.mu.Unlock()
	return true
}

// readLocked notes rec as handled, for Stage.passed. t.mu is held.
func (t *tracker) readLocked(rec *kgo.Record) {
	t.readTo = max(t.readTo, rec.Offset+1)
}

// noteRead notes rec as handled, once judged (a resolve's firing recalled): the check
// for ended mutes must not pass it before.
func (t *tracker) noteRead(rec *kgo.Record) {
	t.mu.Lock()
	t.readLocked(rec)
	t.mu.Unlock()
}

// resumed notes that t's partition resumes at offset at: nothing before it is unread.
func (t *tracker) resumed(at int64) {
	t.mu.Lock()
	t.readTo = max(t.readTo, at)
	t.mu.Unlock()
}

// readUpTo is how far t's partition has been handled: the offset after its last
// record (or where it resumed).
func (t *tracker) readUpTo() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.readTo
}

// track adds rec's entry (holding itself) to its partition's tracker; nil when rec's
// partition is no longer this member's.
func (s *Stage) track(rec *kgo.Record, gen uint64) *entry {
	t := s.tracker(rec.Partition, gen)
	if t == nil {
		return nil
	}
	e := &entry{offset: rec.Offset, epoch: rec.LeaderEpoch, tracker: t}
	e.open.Store(1)
	t.mu.Lock()
	e.seq = t.tracked
	t.tracked++
	t.entries = append(t.entries, e)
	// Open, e is the first entry not popped or comes after it: one more pending.
	t.pending++
	if t.total != nil && !t.forgotten {
		t.total.Add(1)
	}
	t.seen = kgo.EpochOffset{Epoch: rec.LeaderEpoch, Offset: rec.Offset + 1}
	t.mu.Unlock()
	return e
}

// popLocked pops the handled entries at the front and counts the pending alerts
// again. t.mu is held.
func (t *tracker) popLocked() {
	for t.head < len(t.entries) && t.entries[t.head].open.Load() == 0 {
		t.entries[t.head] = nil
		t.head++
	}
	if t.head > 0 && t.head*2 >= len(t.entries) {
		n := copy(t.entries, t.entries[t.head:])
		clear(t.entries[n:])
		t.entries, t.head = t.entries[:n], 0
	}
	pending := int64(0)
	if t.head < len(t.entries) {
		pending = t.tracked - t.entries[t.head].seq
	}
	if t.total != nil && !t.forgotten {
		t.total.Add(pending - t.pending)
	}
	t.pending = pending
}

// compactLocked drops the entries ended behind the first open one: the commit waits
// for that one, and, once it is handled, for the next open one, never for those.
// Their alerts stay counted pending (by seq) until the commit passes them. t.mu is
// held.
func (t *tracker) compactLocked() {
	if t.head >= len(t.entries) {
		return
	}
	open := t.entries[t.head:]
	kept := slices.DeleteFunc(open, func(e *entry) bool { return e.open.Load() == 0 })
	t.entries = t.entries[:t.head+len(kept)]
}

// handled pops the handled entries, compacts the rest and returns the offset to
// commit: the first open entry's, or, with none open, the offset after the last record
// seen (ok false when that was committed already).
func (t *tracker) handled() (next kgo.EpochOffset, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.popLocked()
	t.compactLocked()
	next = t.seen
	if t.head < len(t.entries) {
		e := t.entries[t.head]
		next = kgo.EpochOffset{Epoch: e.epoch, Offset: e.offset}
	}
	if next.Offset <= t.committed {
		return next, false
	}
	return next, true
}

// committedTo notes that next was committed.
func (t *tracker) committedTo(next kgo.EpochOffset) {
	t.mu.Lock()
	t.committed = max(t.committed, next.Offset)
	t.mu.Unlock()
}

// commit commits the handled prefix of the given partitions (all when nil).
func (s *Stage) commit(ctx context.Context, only []int32) {
	s.mu.Lock()
	offs := map[int32]kgo.EpochOffset{}
	for p, t := range s.parts {
		if only != nil && !containsPartition(only, p) {
			continue
		}
		if next, ok := t.handled(); ok {
			offs[p] = next
		}
	}
	s.mu.Unlock()
	if len(offs) == 0 || s.cl == nil {
		return
	}
	var commitErr error
	s.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{s.cfg.Topics.Alerts: offs},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
			if resp == nil {
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil && commitErr == nil {
						commitErr = perr
					}
				}
			}
		})
	if commitErr != nil {
		if ctx.Err() == nil {
			// The next commit covers these offsets too; a crash before it re-delivers.
			s.log.Warn("committing alerts offsets failed", "err", commitErr)
		}
		return
	}
	s.mu.Lock()
	for p, next := range offs {
		if t := s.parts[p]; t != nil {
			t.committedTo(next)
		}
	}
	s.mu.Unlock()
}

func containsPartition(ps []int32, p int32) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// assigned makes the partitions this member's.
func (s *Stage) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range assigned[s.cfg.Topics.Alerts] {
		s.owned[p] = true
		s.assignGen[p]++
	}
}

// assignments copies assignGen, for the records of one fetch.
func (s *Stage) assignments() map[int32]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.assignGen)
}

// revoked stops the work under way for the partitions taken away (settle), commits
// what was handled in them, then forgets them: their offsets are the next owner's to
// commit, and their unfinished deliveries stop before their next attempt (Stage.ours),
// the next owner making them: a retry of ours running on could page after the next
// owner's resolve.
func (s *Stage) revoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	ps := revoked[s.cfg.Topics.Alerts]
	s.settle(ps)
	s.commit(ctx, ps)
	s.forget(ps)
}

// lost forgets partitions lost without a chance to commit, once the work under way
// for them has stopped.
func (s *Stage) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	ps := lost[s.cfg.Topics.Alerts]
	s.settle(ps)
	s.forget(ps)
}

func (s *Stage) forget(ps []int32) {
	var gone []*tracker
	// The firings remembered for the partitions go with them, after s.mu is released
	// (openFirings.mu is never taken under it).
	defer func() { s.open.drop(gone) }()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		if t := s.parts[p]; t != nil {
			gone = append(gone, t)
			t.mu.Lock()
			t.forgotten = true
			s.pending.Add(-t.pending)
			t.mu.Unlock()
		}
		delete(s.parts, p)
		delete(s.owned, p)
		s.assignGen[p]++
	}
	select {
	case s.wake <- struct{}{}: // their pending alerts are counted no more
	default:
	}
}

// pendingAlerts pops the handled entries of every partition and returns the pending
// alerts over them, with the partition holding most and the offset of its oldest
// unhandled alert.
func (s *Stage) pendingAlerts() (n int64, partition int32, offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	most := int64(-1)
	for p, t := range s.parts {
		t.mu.Lock()
		t.popLocked()
		if t.pending > most && t.head < len(t.entries) {
			most, partition, offset = t.pending, p, t.entries[t.head].offset
		}
		t.mu.Unlock()
	}
	return s.pending.Load(), partition, offset
}

// waitPending waits, before an alert is tracked, while Config.MaxPending alerts are
// pending: until the oldest are handled (delivered, muted or recorded undelivered), or
// the partitions holding them are taken away. No alert is skipped: the record in hand
// is tracked once the wait ends. Each wait is counted as LimitMaxPending reached, its
// time in hindsight_notify_pending_wait_seconds_total, and logged (at most once a
// minute). It is false when ctx ended first: the record is then not to be tracked, nor
// any after it (a stopping stage reads them again next run).
func (s *Stage) waitPending(ctx context.Context) bool {
	limit := int64(s.cfg.MaxPending)
	if s.pending.Load() < limit {
		return true
	}
	n, p, off := s.pendingAlerts()
	if n < limit {
		return true
	}
	s.m.limits.Reached(LimitMaxPending)
	last := time.Now()
	if last.Sub(s.pendingLogged) >= time.Minute {
		s.pendingLogged = last
		s.log.Warn("alerts read and not yet handled reached the limit (notify_max_pending, flag --notify-max-pending): reading alerts waits until the oldest are delivered or recorded undelivered",
			"pending", n, "limit", limit, "oldest_partition", p, "oldest_offset", off)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var stopping bool
		select {
		case <-ctx.Done():
			stopping = true
		case <-s.wake:
		case <-tick.C:
		}
		now := time.Now()
		s.m.pendingWait.Add(now.Sub(last).Seconds())
		last = now
		if stopping {
			return false
		}
		if n, _, _ = s.pendingAlerts(); n < limit {
			return true
		}
	}
}
