package live

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// restore builds the state of newly assigned partitions from their newest readable
// snapshots. Partitions without a snapshot are absent from the result; those whose
// snapshots could not be read are fresh partitions carrying the error, for /v1/state
// (held ones when one was refused for its size: heldPartition); those whose restore the daemon's stop cut short are abandoned ones (abandonedPartition).
func (d *Daemon) restore(ps []int32) map[int32]*partition {
	// Without snapshots (--no-snapshots) backfill recounts a partition's history; with
	// neither, the partitions are still checked for history their counts lack.
	if len(ps) == 0 || (d.state == nil && d.bf != nil) {
		return nil
	}
	// The stop ends the restore too: on its own context, a restore waiting for a store
	// that is down held a SIGTERM for the whole bound, then reported the stop as a
	// failed restore.
	stop := d.runCtx
	ctx, cancel := context.WithTimeout(stop, d.cfg.ShutdownTimeout+30*time.Second)
	defer cancel()
	bounds := d.logBounds(ctx, ps)
	state := &snapshotReader{d: d, store: d.state}
	var from *snapshotReader
	if d.restoreFrom != nil {
		from = &snapshotReader{d: d, store: d.restoreFrom}
	}
	out := map[int32]*partition{}
	var committed *committedOffsets // read once, if a partition has no snapshot
	var abandoned []int32
	defer func() {
		if len(abandoned) > 0 {
			d.log.Info("restore abandoned: stopping; the partitions' snapshots in the store stay as they are, for their next owner",
				"partitions", abandoned, "cause", context.Cause(stop))
		}
	}()
	for _, pid := range ps {
		if stop.Err() != nil {
			// Bounds missing, or a read cut short, for the stop: not a failure.
			out[pid] = d.abandonedPartition(pid)
			abandoned = append(abandoned, pid)
			continue
		}
		if _, ok := bounds[pid]; !ok {
			// Without the log's bounds a snapshot's offset cannot be checked, and one
			// outside the log would make the consumer reset and count twice or skip:
			// recount from history instead, which is exact without them; without
			// backfill nothing recounts, and the counts say they lack it.
			if d.bf != nil {
				d.log.Warn("partition offsets unknown; not restoring its snapshot, recounting from history", "partition", pid)
				continue
			}
			p := d.newPartition(pid)
			if d.state == nil {
				d.log.Error("partition offsets unknown: whether its counts lack history below the resume offset is not known, and neither a snapshot (--no-snapshots) nor backfill (--no-backfill) restores it", "partition", pid)
				p.historyLost = "the partition's offsets could not be listed, so whether the group counted events of it before is not known, and --no-snapshots --no-backfill restore no history"
			} else {
				d.log.Error("partition offsets unknown; not restoring its snapshot, and without backfill its history is not recounted: its counts restart at the resume offset", "partition", pid)
				p.snaps.lastErr = restoreFailedMark + "the partition's offsets could not be listed"
				p.historyLost = "the partition's offsets could not be listed, so no snapshot was restored, and --no-backfill recounts no history"
			}
			out[pid] = p
			continue
		}
		if d.state == nil { // --no-snapshots --no-backfill
			if p := d.withoutSnapshot(ctx, pid, bounds[pid], &committed); p != nil {
				out[pid] = p
			}
			continue
		}
		p, err := d.restoreOne(ctx, pid, state, bounds)
		if p == nil && err == nil && from != nil {
			p, err = d.restoreOne(ctx, pid, from, bounds)
		}
		if p == nil && err == nil && d.bf == nil {
			p = d.withoutSnapshot(ctx, pid, bounds[pid], &committed)
		}
		if err != nil && stop.Err() != nil {
			out[pid] = d.abandonedPartition(pid)
			abandoned = append(abandoned, pid)
			continue
		}
		if err != nil && errors.Is(err, ErrSnapshotTooLarge) {
			out[pid] = d.heldPartition(pid, err)
			continue
		}
		if err != nil {
			d.m.restoreFailures.Inc()
			p = d.newPartition(pid)
			p.snaps.lastErr = restoreFailedMark + err.Error()
			if d.bf == nil {
				// Nothing recounts the history the snapshot held: the versions the
				// partition adopts at its resume offset say their counts lack it.
				d.log.Error("no snapshot restored, and without backfill the partition's history is not recounted: its counts restart at the resume offset", "partition", pid, "err", err)
				p.historyLost = "no snapshot of this partition could be read, and --no-backfill recounts no history"
			} else {
				d.log.Error("no snapshot restored; the partition's counts are rebuilt from history", "partition", pid, "err", err)
			}
		}
		if p != nil {
			// Named after what the store holds, this process's snapshots rank above
			// those, whoever wrote them by whatever clock.
			p.snaps.namedUpTo = state.namedUpTo[pid]
			out[pid] = p
		}
	}
	return out
}

// committedOffsets is the group's committed offsets of the events partitions, or why
// they could not be read.
type committedOffsets struct {
	at  map[int32]int64
	err error
}

// withoutSnapshot is partition pid when no store holds a snapshot of it and nothing
// recounts its history (--no-backfill): nil for a fresh start, a partition whose counts
// say they lack the history below its resume offset when the group committed an
// offset above the log's start. There the snapshots that held that history are gone
// (--state pointed elsewhere, the store emptied while down) or were never kept
// (--no-snapshots: a restart, or a partition moved from another member): resuming at
// the commit with empty counts, reported live and complete, the events below were in
// no count and nothing said so (TestStateStoreChangedWithoutBackfillSaysCountsLackHistory),
// which an unreadable snapshot does say.
func (d *Daemon) withoutSnapshot(ctx context.Context, pid int32, b logBound, committed **committedOffsets) *partition {
	if *committed == nil {
		at, err := d.readCommitted(ctx)
		*committed = &committedOffsets{at: at, err: err}
		if err != nil {
			d.log.Warn("cannot read the group's committed offsets: a partition without a snapshot is not checked for history its counts lack (--no-backfill)", "group", d.cfg.Group, "err", err)
		}
	}
	at, ok := (*committed).at[pid]
	if !ok || at <= b.start {
		return nil
	}
	p := d.newPartition(pid)
	if d.state == nil {
		d.log.Error("the group committed offsets of the partition, and with neither snapshots (--no-snapshots) nor backfill (--no-backfill) its history is not restored: its counts restart at the resume offset",
			"partition", pid, "committed", at, "log_start", b.start)
		p.historyLost = "the group committed offsets of this partition, and --no-snapshots --no-backfill restore no history: its counts start at the resume offset"
		return p
	}
	d.log.Error("no snapshot of the partition in the state store, though the group committed offsets of it, and without backfill its history is not recounted: its counts restart at the resume offset",
		"partition", pid, "committed", at, "log_start", b.start, "store", d.state.url)
	p.historyLost = "no snapshot of this partition is in the state store, though the group committed offsets of it (the store changed or emptied), and --no-backfill recounts no history"
	return p
}

// abandonedPartition is partition pid when the daemon's stop cut its restore short:
// its state is not known, so it must neither evaluate events nor be snapshotted over
// the store's snapshot (snapshotPartition), and, never durable, its offsets are never
// committed (CommitLimit). Its next owner restores the snapshot this one could not.
func (d *Daemon) abandonedPartition(pid int32) *partition {
	p := d.newPartition(pid)
	p.snaps.abandoned = true
	p.snaps.lastErr = "restore abandoned: the daemon is stopping"
	return p
}

// heldPartition is partition pid when no stored snapshot of it could be used and at
// least one was refused for its size (err): written under a larger --max-snapshot-bytes,
// it may be the partition's state, sound. Started empty, the partition had stored its
// own snapshots of the empty state, pruned the refused ones by rank, and the restart
// with the limit the refusal advised restored the empty state: the counts lost for good
// (TestSnapshotsRefusedForSizeArePrunedByTheRestartThatRefusedThem). Held as an
// abandoned one is, it evaluates nothing, stores no snapshot over them and commits no
// offset, and /readyz says why, with the limit that restores it, until a restart with
// that limit (or the snapshots deleted, to start it over).
func (d *Daemon) heldPartition(pid int32, err error) *partition {
	d.m.restoreFailures.Inc()
	needed := snapshotSizeNeeded(err)
	d.log.Error("partition held: its snapshots were refused for their size under --max-snapshot-bytes; it is neither evaluated nor snapshotted nor committed until a restart with a limit that restores them",
		"partition", pid, "max_snapshot_bytes", d.cfg.MaxSnapshotBytes, "needed_at_least", needed, "err", err)
	p := d.newPartition(pid)
	p.snaps.abandoned = true
	p.snaps.held = fmt.Sprintf("no stored snapshot of partition %d could be used, and some were refused for their size under --max-snapshot-bytes %d: restart with --max-snapshot-bytes of at least %d (at most %d) to restore them, or delete them to start the partition over; meanwhile it is neither evaluated nor snapshotted nor committed",
		pid, d.cfg.MaxSnapshotBytes, needed, int64(MaxSnapshotBytesCap))
	p.snaps.lastErr = fmt.Sprintf("%s%s (%v)", restoreHeldMark, p.snaps.held, err)
	return p
}

// snapshotSizeNeeded is the largest limit the snapshotSizeErrors in err say they
// need.
func snapshotSizeNeeded(err error) int64 {
	var n int64
	var walk func(error)
	walk = func(e error) {
		var se *snapshotSizeError
		switch u := e.(type) {
		case *snapshotSizeError:
			se = u
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			}
		}
		if se != nil {
			n = max(n, se.needed)
		}
	}
	walk(err)
	return n
}

type logBound struct {
	start, end int64
	// stable is the last stable offset: events from it on may be of a transaction still
	// open, which a consumer reading committed reads when it ends (docs/architecture.md,
	// "Transactions"). A start at the log's end starts here, and so does what no
	// earlier owner could have read (p.restoredEnd).
	stable int64
	// topicID is Kafka's id of the events topic (zeros: unknown): a snapshot of a topic
	// deleted and made again has another, though its offset may fit the new log.
	topicID [16]byte
}

// restoreWait is what a restore of assigned partitions waits for: the partitions are
// neither published nor consumed meanwhile, up to RestorePatience, and /readyz names
// the wait rather than only that no partition is assigned. /readyz is open to anyone
// who may address the daemon: it names neither the store's URL nor the error, which
// the log has with each attempt.
type restoreWait struct {
	what  string
	since time.Time
}

// reason is the wait as /readyz says it at now.
func (w *restoreWait) reason(now time.Time, patience time.Duration) string {
	return fmt.Sprintf("assigned partitions wait for %s, unavailable for %s (up to --restore-patience %s; the log has each attempt's error)",
		w.what, now.Sub(w.since).Round(time.Second), patience)
}

// logBounds lists the events partitions' first and next offsets; a snapshot outside
// them does not describe this log. A listing that fails is tried again for up to
// RestorePatience: without the bounds no snapshot is restored, so one failed request
// would otherwise throw the partitions' state away.
func (d *Daemon) logBounds(ctx context.Context, ps []int32) map[int32]logBound {
	var out map[int32]logBound
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = 100*time.Millisecond, 2*time.Second
	since := time.Time{}
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		var err error
		out, err = d.listLogBounds(ctx, ps)
		return struct{}{}, err
	}, backoff.WithBackOff(bo), backoff.WithMaxElapsedTime(d.cfg.RestorePatience),
		backoff.WithNotify(func(error, time.Duration) {
			if since.IsZero() {
				since = time.Now()
			}
			d.restoreWait.Store(&restoreWait{what: "the events partitions' offsets (Kafka's listing)", since: since})
		}))
	d.restoreWait.Store(nil)
	if err != nil && !errors.Is(ctx.Err(), context.Canceled) { // cancelled: a stop, which restore reports
		d.log.Warn("cannot list the events partitions' offsets; their snapshots are not restored and idle ones adopt rules at their next event", "err", err)
	}
	return out
}

// listLogBounds is one listing of logBounds; an error when a partition of ps lacks its
// bounds.
func (d *Daemon) listLogBounds(ctx context.Context, ps []int32) (map[int32]logBound, error) {
	out := map[int32]logBound{}
	cl, err := d.cfg.Kafka.NewClient()
	if err != nil {
		return nil, backoff.Permanent(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err1 := adm.ListStartOffsets(ctx, d.cfg.Topics.Events)
	ends, err2 := adm.ListEndOffsets(ctx, d.cfg.Topics.Events)
	stables, err3 := adm.ListCommittedOffsets(ctx, d.cfg.Topics.Events)
	if err := errors.Join(err1, err2, err3); err != nil {
		return out, err
	}
	// The topic's id, where the brokers give one (Kafka 2.8+; zeros otherwise, and then
	// no snapshot is refused for it).
	var id [16]byte
	if md, err := adm.Metadata(ctx, d.cfg.Topics.Events); err == nil {
		id = md.Topics[d.cfg.Topics.Events].ID
	}
	var missing []error
	for _, p := range ps {
		s, ok1 := starts.Lookup(d.cfg.Topics.Events, p)
		e, ok2 := ends.Lookup(d.cfg.Topics.Events, p)
		st, ok3 := stables.Lookup(d.cfg.Topics.Events, p)
		switch {
		case ok1 && ok2 && ok3 && s.Err == nil && e.Err == nil && st.Err == nil:
			out[p] = logBound{start: s.Offset, end: e.Offset, stable: st.Offset, topicID: id}
		default:
			missing = append(missing, fmt.Errorf("partition %d: %w", p, errors.Join(s.Err, e.Err, st.Err)))
		}
	}
	return out, errors.Join(missing...)
}

// snapshotReader reads one snapshot store for one restore. A read that fails for want
// of the store is tried again with backoff, as logBounds tries Kafka's listing: tried
// once (the S3 client's own three attempts, a few seconds), storage down for a few
// seconds as the daemon restarted (both coming back after a power cut) restored its
// partitions empty, and under --no-backfill their counts restarted at the resume offset
// for good, though the snapshot was readable seconds later. The waits last up to
// RestorePatience from the first failed read of an outage, shared by the partitions
// restored meanwhile: a store that stays down delays the restore once, not once per
// partition (its later reads are tried once each), and the restore, as before, ends
// within its context's bound. What retrying cannot change is not retried: no snapshot, a snapshot gone
// (pruned since the listing: the next older one is read), a corrupt one (restoreOne
// tries older ones), the restore's context ended.
type snapshotReader struct {
	d     *Daemon
	store *stateStore
	// failing is when a read of this restore first failed for want of the store; zero:
	// none has.
	failing time.Time
	// namedUpTo is, per partition listed, the newest write time its snapshots' names
	// hold (partitionSnapshots.namedUpTo).
	namedUpTo map[int32]int64
}

func (r *snapshotReader) list(ctx context.Context, pid int32) ([]string, error) {
	names, err := readPatiently(ctx, r, pid, func() ([]string, error) { return r.store.list(ctx, pid) })
	for _, n := range names {
		if _, at := snapshotName(n); at > r.namedUpTo[pid] {
			if r.namedUpTo == nil {
				r.namedUpTo = map[int32]int64{}
			}
			r.namedUpTo[pid] = at
		}
	}
	return names, err
}

func (r *snapshotReader) get(ctx context.Context, pid int32, name string) ([]byte, error) {
	return readPatiently(ctx, r, pid, func() ([]byte, error) { return r.store.get(ctx, name, r.d.cfg.MaxSnapshotBytes) })
}

// readPatiently runs read until it succeeds, fails with an answer (storeAnswered), or
// r's patience runs out; each wait is logged, with the error.
func readPatiently[T any](ctx context.Context, r *snapshotReader, pid int32, read func() (T, error)) (T, error) {
	patience := r.d.cfg.RestorePatience
	if !r.failing.IsZero() {
		patience -= time.Since(r.failing)
	}
	attempt := 0
	var last error
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = 100*time.Millisecond, 2*time.Second
	v, err := backoff.Retry(ctx, func() (T, error) {
		attempt++
		v, err := read()
		if err == nil {
			// The store answers: a later outage gets the patience anew, rather than a
			// single try because an earlier one spent it.
			r.failing = time.Time{}
			return v, nil
		}
		last = err
		if storeAnswered(ctx, err) {
			return v, backoff.Permanent(err)
		}
		if r.failing.IsZero() {
			r.failing = time.Now()
		}
		return v, err
	}, backoff.WithBackOff(bo),
		// At least one attempt: past the patience, each read is tried once.
		backoff.WithMaxElapsedTime(max(patience, time.Nanosecond)),
		backoff.WithNotify(func(err error, wait time.Duration) {
			r.d.log.Warn("snapshot store unavailable; the partition's restore waits for it", "partition", pid,
				"attempt", attempt, "retry_in", wait.Round(time.Millisecond), "patience", r.d.cfg.RestorePatience, "err", err)
			r.d.restoreWait.Store(&restoreWait{what: fmt.Sprintf("the snapshot store (partition %d's snapshots)", pid), since: r.failing})
		}))
	r.d.restoreWait.Store(nil)
	switch {
	case err == nil && attempt > 1:
		r.d.log.Info("snapshot store available again; the partition's restore goes on", "partition", pid, "attempts", attempt)
	case err != nil && last != nil && !errors.Is(err, last):
		// The restore's context ended the wait: say what was waited for.
		err = fmt.Errorf("%w, after: %w", err, last)
	}
	return v, err
}

// storeAnswered reports whether err, from a read of a snapshot store, is an answer
// that reading again cannot change, rather than the store being unavailable.
func storeAnswered(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, lakehouse.ErrNotFound) ||
		errors.Is(err, lakehouse.ErrClosed) || errors.Is(err, lakehouse.ErrInvalidName) || errors.Is(err, ErrSnapshotTooLarge)
}

// restoreOne restores partition pid from the newest snapshot in store that reads and
// fits the log, trying older ones when the newest does not. It returns nil, nil when the
// store has none.
func (d *Daemon) restoreOne(ctx context.Context, pid int32, store *snapshotReader, bounds map[int32]logBound) (*partition, error) {
	names, err := store.list(ctx, pid)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	var errs []error
	for i, name := range names {
		began := time.Now()
		data, err := store.get(ctx, pid, name)
		if errors.Is(err, ErrSnapshotTooLarge) {
			d.m.limits.Reached(limitSnapshotBytes)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", name, err))
			if ctx.Err() != nil {
				// Cut short, not unreadable: an older snapshot is no stand-in for it.
				return nil, errors.Join(errs...)
			}
			continue
		}
		p, err := d.partitionFromSnapshot(pid, data, bounds)
		if errors.Is(err, ErrSnapshotTooLarge) {
			d.m.limits.Reached(limitSnapshotBytes)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("snapshot %s in %s: %w", name, store.store.url, err))
			continue
		}
		// A seed read from --restore-from is not this daemon's to restart from: a crash
		// before its first snapshot in --state would resume the partition at a committed
		// offset with empty state. Left not durable, its offsets wait for that snapshot
		// (CommitLimit), which storeInitialSnapshots stores before the partition's first
		// fetch (or, failing that, the snapshot loop at its next tick).
		p.snaps.durable.Store(store.store == d.state)
		p.mu.Lock() // its resumed jobs may be finishing already
		// Holding the write time from the snapshot's header already.
		r := p.snaps.restored
		r.Key, r.Offset, r.Bytes, r.Took = name, p.next, len(data), time.Since(began).Round(time.Microsecond).String()
		r.Counters = p.counterCount()
		pending := len(p.pending) + len(p.endedReplays)
		if len(errs) > 0 {
			p.snaps.lastErr = skippedNote(errs, names[:i], name, p.next)
		}
		p.mu.Unlock()
		d.produceEnded(p)
		// Seen only in the log, a store rotting under its newest snapshots went
		// unnoticed until no copy was left.
		d.m.snapshotsSkipped.Add(float64(len(errs)))
		for _, e := range errs {
			d.log.Warn("skipped an unreadable snapshot for an older one", "partition", pid, "restored", name, "err", e)
		}
		d.m.restores.Inc()
		d.log.Info("partition state restored", "partition", pid, "snapshot", name, "offset", p.next,
			"counters", p.snaps.restored.Counters, "backfills_pending", pending, "took", p.snaps.restored.Took)
		return p, nil
	}
	return nil, errors.Join(errs...)
}

func (p *partition) counterCount() int { return p.counts.live }

// Marks of a restore's news in a partition's last error (partitionSnapshots.lastErr),
// which an initial snapshot does not make old, and health tells apart from a snapshot
// not stored.
const (
	restoreFailedMark  = "restore: "
	restoreSkippedMark = "restore skipped: "
	// restoreHeldMark: heldPartition's, which makes the process not ready.
	restoreHeldMark = "restore refused for size: "
)

// skippedNote is the partition's last error when the restore skipped newer snapshots
// (errs) for the older one restored, at offset next: the events between are evaluated
// again, and the operator reading it should know that as well as what is damaged.
func skippedNote(errs []error, skipped []string, restored string, next int64) string {
	skippedUpTo := int64(-1)
	for _, n := range skipped {
		o, _ := snapshotName(n)
		skippedUpTo = max(skippedUpTo, o)
	}
	msg := fmt.Sprintf("%s%d newer snapshot(s) could not be used (%v); restored the older %s (offset %d) in their place",
		restoreSkippedMark, len(errs), errors.Join(errs...), restored, next)
	if skippedUpTo > next {
		msg += fmt.Sprintf(", so the events from offset %d to %d are evaluated again (their alerts and dead letters may be sent a second time)", next, skippedUpTo)
	}
	return msg
}

// partitionFromSnapshot decodes a snapshot onto the active rules. Counters of rule
// versions no longer active are dropped; active versions the snapshot does not know
// start at its offset, with their history backfilled, as for any new rule.
func (d *Daemon) partitionFromSnapshot(pid int32, data []byte, bounds map[int32]logBound) (*partition, error) {
	body, version, err := openState(data, d.cfg.MaxSnapshotBytes)
	if err != nil {
		return nil, err
	}
	s := d.active.Load()
	p := d.newPartition(pid)
	var rules []*controls.Version
	held := map[*controls.Version]bool{} // versions with counters restored
	var replays []endedReplay
	h, err := decodeState(body, version, func(h *stateHeader) (func([]byte, []stateCount), error) {
		if h.Partition != pid || h.Topic != d.cfg.Topics.Events || h.Group != d.cfg.Group {
			return nil, fmt.Errorf("it is the state of %s partition %d in group %q, not of %s partition %d in group %q",
				h.Topic, h.Partition, h.Group, d.cfg.Topics.Events, pid, d.cfg.Group)
		}
		if b, ok := bounds[pid]; ok && (h.Next > b.end || h.Next < b.start) {
			return nil, fmt.Errorf("its offset %d is outside partition %d's log [%d, %d]: it describes another log, or events it has not counted were deleted",
				h.Next, pid, b.start, b.end)
		}
		if b, ok := bounds[pid]; ok && b.topicID != ([16]byte{}) && h.TopicID != ([16]byte{}) && b.topicID != h.TopicID {
			return nil, fmt.Errorf("it counts topic %s with id %x, and the topic's id is %x now: the topic was deleted and made again, and its offsets are another log's",
				h.Topic, h.TopicID, b.topicID)
		}
		rules = make([]*controls.Version, len(h.Rules))
		for i, sr := range h.Rules {
			k := rule.Key{Scope: sr.Scope, ID: sr.ID}
			ar := s.version(k)
			if ended, ok := d.rules.Ended(k, sr.ControlOffset, sr.Fingerprint); ok && !ended.Rule.Plain() && ar != ended {
				// A version that ended after this snapshot was taken (while the
				// partition was elsewhere, or the daemon down): its open incidents are
				// resolved here, as the process that held it would have, and those a
				// process may have opened after the snapshot by replaying it
				// (endedreplay.go). A pending hand-off's state is not in the snapshot: the
				// replay resolves every incident from the version's start (from 0 when
				// its history's alerts were sent too). A recount's start, on a partition
				// started with no snapshot, is where that process resumed, and an earlier
				// owner may have fired below it: its replay resolves every incident from
				// the log's start, as the recount finished would have
				// (TestPendingRecountEndedAfterSnapshotResolvesEarlierFiring). An ordinary
				// hand-off's replay resolves from its start: below it, history's incidents
				// were fired by no one
				// (TestPendingHandoffEndedAfterSnapshotResolvesNothingNeverFired).
				from := h.Next
				switch {
				case sr.Recount:
					from = 0
				case sr.Pending:
					from = firingsFrom(ended, sr.Start)
				case sr.Window != nil:
					ws, _, err := window.Decode(ended.Rule, d.cfg.WindowLimits, sr.Window)
					if err != nil {
						return nil, fmt.Errorf("%w: window state of ended rule %s: %v", ErrStateCorrupt, k, err)
					}
					p.endIncidents(d, ended, ws, h.Next)
				}
				if end := bounds[pid].stable; d.bf != nil && (end > h.Next || sr.Pending) {
					replays = append(replays, endedReplay{ar: ended, start: sr.Start, from: from, end: end})
				}
				continue
			}
			if ar != nil && ar.ControlOffset == sr.ControlOffset && ar.Fingerprint == sr.Fingerprint {
				rules[i] = ar
				p.inherited[ar] = true
				p.starts[ar] = sr.Start
				if len(sr.Incomplete) > 0 {
					p.incomplete[ar] = sr.Incomplete
				}
				if sr.Refused > 0 {
					p.refused[ar] = sr.Refused
				}
				if sr.Window != nil && !ar.Rule.Plain() {
					ws, rest, err := window.Decode(ar.Rule, d.cfg.WindowLimits, sr.Window)
					if err == nil && len(rest) != 0 {
						err = fmt.Errorf("%d trailing bytes", len(rest))
					}
					if err != nil {
						return nil, fmt.Errorf("%w: window state of rule %s: %v", ErrStateCorrupt, ar.Key, err)
					}
					p.setWindow(ar, ws)
				}
			}
		}
		// Versions the snapshot does not name that ended after the last control its rule
		// set folded may have been adopted after it, and run, by a process since killed
		// (a snapshot that does not say, of version 4 or before, is taken to name all).
		named := map[*controls.Version]bool{}
		for _, sr := range h.Rules {
			if v, ok := d.rules.Ended(rule.Key{Scope: sr.Scope, ID: sr.ID}, sr.ControlOffset, sr.Fingerprint); ok {
				named[v] = true
			}
		}
		if h.ControlsKnown {
			unnamed := slices.DeleteFunc(d.rules.EndedAfter(h.Controls), func(v *controls.Version) bool { return named[v] })
			replays = append(replays, d.unheldReplays(unnamed, h.Next, bounds[pid].stable, true)...)
		}
		// What remains of the body once counters (2+ bytes each) are taken out bounds
		// the names' bytes.
		p.counts.sized(h.Customers, h.Counters, max(0, len(body)-2*h.Counters-2*h.Customers))
		p.counts.deferIndex = true
		return func(customer []byte, counts []stateCount) {
			ci := -1
			for _, c := range counts {
				if ar := rules[c.Rule]; ar != nil && c.N > 0 {
					if ci < 0 {
						ci = p.counts.appendNew(customer)
					}
					p.counts.add(ci, ar.Seq, c.N)
					held[ar] = true
				}
			}
		}, nil
	})
	if err != nil {
		return nil, err
	}
	p.counts.deferIndex = false
	p.counts.reindex()
	p.counts.reindexCells(1)
	d.markRestoredOver(p, held)
	p.next = h.Next
	p.restoredEnd = bounds[pid].stable
	p.topicID = h.TopicID
	if id := bounds[pid].topicID; id != ([16]byte{}) {
		p.topicID = id
	}
	// The rest of what /v1/state shows of the snapshot restoreOne adds.
	p.snaps.restored = &contract.SnapshotInfo{WrittenAt: h.WrittenAt}
	// The jobs started below run at once, before p is published, and their results
	// take p.mu: held from here, the rest of the restore comes first.
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, sr := range h.Rules {
		if ar := rules[i]; ar != nil && sr.Pending && d.bf == nil && sr.Start > 0 {
			// Its hand-off was unfinished, and nothing finishes it: a count lacks the
			// history below its start, a windowed state also the events buffered since
			// (gone with the process), which followed the version's activation.
			to := sr.Start - 1
			if !ar.Rule.Plain() {
				to = h.Next - 1
			}
			p.incomplete[ar] = append(p.incomplete[ar], contract.MissingRange{Partition: p.id, From: 0, To: to,
				Reason: "the rule's hand-off was unfinished when the snapshot was taken, and --no-backfill does not finish it"})
		}
		if ar := rules[i]; ar != nil && sr.Pending && d.bf != nil && sr.Start > 0 {
			if ar.Rule.Plain() {
				d.startBackfill(p, ar, sr.Start, sr.Start, false)
			} else {
				// The events buffered since sr.Start are gone: the job's history runs up to
				// the resume offset and owes the crossings from sr.Start. A recount (or a
				// hand-off of a snapshot that does not say) rebuilds a version an earlier
				// owner may have run, whose alerts were sent, and resolves what it
				// closes; an ordinary hand-off's history below sr.Start fired nothing,
				// and resolves nothing (TestPendingHandoffRestoredSendsNoResolveNeverFired).
				d.startWindowHandoff(p, ar, sr.Start, h.Next, sr.Recount)
			}
		}
	}
	for _, c := range replays {
		d.startEndedReplay(p, c.ar, c.start, c.from, c.end)
	}
	gen := p.gen
	p.reconcile(d, s, h.Next)
	if p.gen == gen && len(p.ended) == 0 { // resolved incidents make the snapshot old too
		p.snaps.clean.offset, p.snaps.clean.gen = p.next, p.gen
	}
	return p, nil
}
