package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/lakehouse"
)

// Durable state (docs/architecture.md, "State and scale"). Each owned partition's state is saved
// as a snapshot (state.go) in object storage: every SnapshotInterval when it changed,
// when the partition is revoked (before another process may take it), and at shutdown.
// A partition newly owned here (start-up, crash recovery, rebalance) restores its newest
// readable snapshot and the consumer resumes at the snapshot's offset, so the events
// after it are evaluated exactly once more on top of exactly the state before them.
//
// Alerts: a snapshot is stored only after every alert and dead letter of the events it
// covers has been delivered (the consumer's Delivered offset has reached its offset) and
// backfill alerts are flushed, so no alert is lost by resuming from it. Events between a
// snapshot and a crash are evaluated again after restore, and the alerts they raise come
// again with the same alert_id: delivery is at least once, and consumers drop
// duplicates by alert_id.

// partitionSnapshots is a partition's snapshot bookkeeping; mu serialises its writes.
type partitionSnapshots struct {
	mu   sync.Mutex
	last *contract.SnapshotInfo // guarded by the partition's mu
	// clean is the (offset, gen) of the state last stored or restored: no snapshot is
	// needed while the partition is still there. Guarded by the partition's mu.
	clean struct {
		offset int64
		gen    uint64
	}
	restored *contract.SnapshotInfo // set before the partition is published
	// abandoned is set before the partition is published, never after: the daemon's
	// stop cut its restore short (abandonedPartition), or its snapshots were refused
	// for their size (heldPartition), so its empty state is no state to store.
	abandoned bool
	// held is why heldPartition holds it ("": not held), for /readyz, which is open to
	// anyone who may address the daemon: it names the limit, not the store or the
	// snapshots (lastErr, for /v1/state, does). Set before the partition is published.
	held    string
	lastErr string // guarded by the partition's mu
	gone    bool   // guarded by mu: revoked, no more periodic snapshots
	// durable is set once a snapshot of the partition was stored or restored
	// (CommitLimit); atomic, so that the commit loop never waits for the partition.
	durable atomic.Bool
	// bufs and sealed are the last snapshot's buffers, guarded by mu, kept for the
	// next (see stateBuffers).
	bufs   stateBuffers
	sealed []byte
	// namedUpTo is the newest write time (Unix ns) in a name of the partition's
	// snapshots in the state store that the restore listed or this process wrote,
	// guarded by mu (set before the partition is published). A snapshot is named after
	// it (snapshotNameTime): the store ranks a partition's snapshots by those times, and
	// by the clocks alone a member whose clock ran ahead outranked the snapshots the
	// partition's later owners wrote, which a restart then lost.
	namedUpTo int64
	// tooLarge is the schedule of the interval snapshots after one was refused for its
	// size (nil: none refused since one was stored), and retryAt when the next may be
	// tried, both guarded by mu. Tried at every tick, a large state was copied under the
	// partition's lock and encoded whole for ever, only to be refused again
	// (TestSnapshotRefusedForSizeIsNotEncodedEveryInterval); it may fit again only once
	// rules or counters go, which nothing here waits for. A revoke's or the stop's is
	// tried whatever the schedule: it is the partition's last.
	tooLarge *backoff.ExponentialBackOff
	retryAt  time.Time
}

// snapshotTooLargeBackoffSpan is how many snapshot intervals at most the interval
// snapshots of a partition refused for its size wait between two attempts (doubling
// from one): a state shrunk below --max-snapshot-bytes is stored within that.
const snapshotTooLargeBackoffSpan = 16

// snapshotNameTime is the write time (Unix ns) a snapshot begun at began is named by:
// began, or just after the newest name the partition's snapshots had when that is
// later, so that names rank what was written after what, whatever the members' clocks
// (TestSnapshotOfAClockAheadIsNotRestoredOverANewerOne). The caller holds p.snaps.mu.
func (p *partition) snapshotNameTime(began time.Time) time.Time {
	at := max(began.UnixNano(), p.snaps.namedUpTo+1)
	p.snaps.namedUpTo = at
	return time.Unix(0, at)
}

// CommitLimit implements ingest.CommitLimiter. With snapshots on, a partition's offsets
// are not committed until its state has a stored (or restored) snapshot. Without that,
// a crash before the first snapshot would restart the partition at a committed offset
// with empty state: plain counts recover their history by backfill, but rules kept per
// group and window have no backfill yet and would lose the events before it. Held
// back, the restart begins where this process began, with the same rule starts.
func (d *Daemon) CommitLimit(pid int32) (int64, bool) {
	if d.state == nil {
		return 0, false
	}
	d.partsMu.RLock()
	p := d.parts[pid]
	d.partsMu.RUnlock()
	if p == nil || p.snaps.durable.Load() {
		return 0, false
	}
	return -1, true
}

// reasonInitial is the snapshot a partition new to this process stores before its
// first event when it restored none: its empty state at the offset where it starts,
// with the rules adopted there. A crash then restarts the partition there, with the
// same rule starts, never at a committed offset with empty state (see CommitLimit).
const reasonInitial = "initial"

// ErrFinalSnapshot is the daemon's error (Wait) when a partition's snapshot at the stop
// could not be stored: its next owner restores an older one and evaluates the events
// since again, their alerts sent a second time. Exiting 0 told the operator the stop
// had snapshotted, as a failed archiver final flush (lakehouse.ErrFinalFlush) exits 1.
var ErrFinalSnapshot = errors.New("live: final snapshot not stored (the partitions restart from their previous snapshots and evaluate the events since again: none missed, their alerts may come twice)")

// stopSnapshotFailed records err (nil: none) of partition pid's snapshot at the stop.
func (d *Daemon) stopSnapshotFailed(pid int32, err error) {
	if err == nil {
		return
	}
	d.stopSnapMu.Lock()
	defer d.stopSnapMu.Unlock()
	if d.stopSnapErrs == nil {
		d.stopSnapErrs = map[int32]error{}
	}
	d.stopSnapErrs[pid] = err
}

// finalSnapshotErr is the stop's error for the snapshots it could not store (nil: none),
// naming the partitions.
func (d *Daemon) finalSnapshotErr() error {
	d.stopSnapMu.Lock()
	defer d.stopSnapMu.Unlock()
	if len(d.stopSnapErrs) == 0 {
		return nil
	}
	pids := slices.Sorted(maps.Keys(d.stopSnapErrs))
	errs := make([]error, len(pids))
	for i, pid := range pids {
		errs[i] = fmt.Errorf("partition %d: %w", pid, d.stopSnapErrs[pid])
	}
	d.log.Error("the stop could not store the snapshots of partitions within --shutdown-timeout: they restart from their previous snapshots and evaluate the events since again (alerts may come twice)",
		"partitions", pids, "shutdown_timeout", d.cfg.ShutdownTimeout)
	return fmt.Errorf("%w: partitions %v: %w", ErrFinalSnapshot, pids, errors.Join(errs...))
}

// errNotDelivered: the consumer could not confirm delivery of the records produced for
// the events a snapshot covers, so the snapshot is not stored.
var errNotDelivered = errors.New("live: records produced for the snapshot's events are not delivered yet")

// errReplaysRunning: a revoke's or the stop's snapshot of a partition whose ended
// versions' replays are still running is held back, its changed state not stored.
var errReplaysRunning = errors.New("live: ended versions' replays still running")

// snapshotPartition stores p's state if it changed since its last snapshot. flushed
// says every record produced for handled events is known delivered (the consumer has
// shut down), so there is nothing to wait for.
func (d *Daemon) snapshotPartition(ctx context.Context, p *partition, reason string, flushed bool) error {
	if d.state == nil || p.snaps.abandoned {
		// An abandoned partition's empty state stored would be restored by its next
		// owner in place of the snapshot its restore could not read.
		return nil
	}
	p.snaps.mu.Lock()
	defer p.snaps.mu.Unlock()
	if p.snaps.gone && reason == "interval" {
		return nil
	}
	if reason == "interval" && p.snaps.tooLarge != nil && time.Now().Before(p.snaps.retryAt) {
		d.m.snapshotsDeferred.Inc()
		return nil
	}
	began := time.Now()
	// Encode only when every applied backfill's alerts are queued (checked under the
	// same lock as the encoding).
	for {
		if err := p.waitAlertsQueued(ctx); err != nil {
			return err
		}
		p.mu.Lock()
		if p.unqueuedAlerts == 0 && p.endedUnacked.Load() == 0 {
			break
		}
		p.mu.Unlock()
	}
	if n := len(p.endedReplays); n > 0 {
		// The snapshot restored names the ended versions being replayed; a newer one
		// would not, and a crash before their resolves are out would lose them.
		next := p.next
		changed := next >= 0 && (p.snaps.clean.offset != next || p.snaps.clean.gen != p.gen)
		p.mu.Unlock()
		if reason == "interval" || reason == reasonInitial || !changed {
			d.log.Debug("partition snapshot held back: ended versions' replays are running", "partition", p.id, "reason", reason, "replays", n)
			return nil
		}
		// A revoke's or the stop's: the partition is closing, so the replays' results
		// are dropped (applyEndedReplay) and waiting could not store it. Its changed
		// state is not stored, as when the store refuses it: the stop ends with
		// ErrFinalSnapshot; it ended with nil, exiting 0
		// (TestStopSnapshotHeldBackByEndedReplayFails).
		err := fmt.Errorf("%w: partition %d's snapshot held back: %d ended versions' replays are running, whose resolves a snapshot stored before them would lose (its next owner replays them from the previous snapshot)", errReplaysRunning, p.id, n)
		// Counted as any snapshot not stored: a revoke's (a clean rebalance) ends no
		// process, and its next owner repeats the alerts sent since the snapshot it
		// restores, which a warning alone said.
		d.m.snapshotFailures.Inc()
		p.mu.Lock()
		p.snaps.lastErr = err.Error()
		p.mu.Unlock()
		d.log.Warn("partition snapshot not stored", "partition", p.id, "offset", next, "reason", reason, "err", err)
		return err
	}
	if p.next < 0 || reason != reasonInitial && p.snaps.clean.offset == p.next && p.snaps.clean.gen == p.gen {
		p.mu.Unlock()
		return nil
	}
	next, gen := p.next, p.gen
	// Under the lock only the rules are written, the window states copied and the
	// counters frozen; they are encoded after, while events flow (chunked).
	enc := p.beginState(d.cfg.Topics.Events, d.cfg.Group, began, &p.snaps.bufs, d.active.Load())
	restoreErr := ""
	if reason == reasonInitial && (strings.HasPrefix(p.snaps.lastErr, restoreFailedMark) || strings.HasPrefix(p.snaps.lastErr, restoreSkippedMark)) {
		restoreErr = p.snaps.lastErr // an initial snapshot does not make that news old
	}
	p.mu.Unlock()
	stalled := time.Since(began)
	d.m.snapshotStall.Observe(stalled.Seconds())
	body, counters := enc.finish()
	p.mu.Lock()
	p.counts.thaw()
	p.mu.Unlock()
	encoded := time.Since(began)

	err := d.storeSnapshot(ctx, p, body, enc.version, counters, next, gen, began, flushed, restoreErr)
	p.snaps.bufs.body = body[:0]
	if err != nil {
		d.m.snapshotFailures.Inc()
		p.mu.Lock()
		p.snaps.lastErr = err.Error()
		p.mu.Unlock()
		if errors.Is(err, ErrSnapshotTooLarge) {
			d.refusedForSize(p, next, reason, err, began)
		} else {
			d.log.Warn("partition snapshot not stored", "partition", p.id, "offset", next, "reason", reason, "err", err)
		}
		return err
	}
	if p.snaps.tooLarge != nil {
		p.snaps.tooLarge = nil
		d.log.Info("partition snapshot stored again: its state fits --max-snapshot-bytes", "partition", p.id, "offset", next, "reason", reason, "max_snapshot_bytes", d.cfg.MaxSnapshotBytes)
	}
	d.log.Debug("partition snapshot stored", "partition", p.id, "offset", next, "counters", counters, "reason", reason,
		"stall", stalled.Round(time.Microsecond), "encode", encoded.Round(time.Microsecond), "took", time.Since(began).Round(time.Microsecond))
	return nil
}

// refusedForSize schedules p's next interval snapshot after one (at offset next, begun
// at began) was refused for its size (err), logging the first refusal since a snapshot
// was stored, the later ones only at debug: each is counted in
// hindsight_snapshot_failures_total and hindsight_limit_reached_total, and /v1/state's
// last_error keeps it. The caller holds p.snaps.mu.
func (d *Daemon) refusedForSize(p *partition, next int64, reason string, err error, began time.Time) {
	first := p.snaps.tooLarge == nil
	if first {
		p.snaps.tooLarge = &backoff.ExponentialBackOff{InitialInterval: d.cfg.SnapshotInterval,
			MaxInterval: snapshotTooLargeBackoffSpan * d.cfg.SnapshotInterval, Multiplier: 2, RandomizationFactor: 0}
	}
	wait := p.snaps.tooLarge.NextBackOff()
	// The interval rounds come every SnapshotInterval from the round that began this
	// attempt, a little before began: counted from the refusal, after the encoding,
	// the round wait later fell just short and each gap took an interval more (2, 3,
	// 5, 9, 17 intervals instead of 1, 2, 4, 8, 16). Half an interval early still
	// defers every round before that one.
	p.snaps.retryAt = began.Add(wait - d.cfg.SnapshotInterval/2)
	if first {
		d.log.Warn("partition snapshot not stored: its state is above --max-snapshot-bytes; the interval snapshots are tried again less often, doubling from --snapshot-interval up to 16 times it (hindsight_snapshots_deferred_total), until one fits",
			"partition", p.id, "offset", next, "reason", reason, "next_attempt_in", wait, "err", err)
		return
	}
	d.log.Debug("partition snapshot not stored again: its state is above --max-snapshot-bytes", "partition", p.id, "offset", next, "reason", reason, "next_attempt_in", wait, "err", err)
}

// storeSnapshot stores body; once it is stored, the partition's last error becomes
// keepErr (a restore failure an initial snapshot does not make old), in the same step,
// so that /v1/state never shows the partition without it.
func (d *Daemon) storeSnapshot(ctx context.Context, p *partition, body []byte, version uint16, counters int, next int64, gen uint64, began time.Time, flushed bool, keepErr string) error {
	if !flushed {
		if err := d.waitDelivered(ctx, p.id, next); err != nil {
			return err
		}
	}
	if d.alertProducer != nil {
		// Backfill alerts the snapshot's counts include, and resolved records of incidents
		// it no longer holds, must be out before it is stored.
		// Only p's held dead letters: another partition's is not this snapshot's to wait for.
		if err := d.reroute.FlushHolds(ctx, p.held); err != nil {
			return fmt.Errorf("flushing alerts raised outside batches: %w", err)
		}
	}
	if int64(len(body)) > d.cfg.MaxSnapshotBytes {
		// Stored, it would be refused by the restore that needs it, and the partition
		// counted again from a stale snapshot or from history: a loss seen only then.
		d.m.limits.Reached(limitSnapshotBytes)
		return fmt.Errorf("%w: partition %d's state encodes to %d bytes, above the limit of %d (--max-snapshot-bytes): not stored, since a restore would refuse it; raise the limit (at most %d) or lower the state's (--max-counters, --max-customer-ids-bytes, --max-groups, --max-distinct)",
			ErrSnapshotTooLarge, p.id, len(body), d.cfg.MaxSnapshotBytes, int64(MaxSnapshotBytesCap))
	}
	data := sealState(p.snaps.sealed[:0], body, version)
	p.snaps.sealed = data[:0]
	key := d.state.key(p.id, next, p.snapshotNameTime(began))
	if err := d.state.bkt.Put(ctx, key, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	rec := &contract.SnapshotInfo{Key: key, Offset: next, WrittenAt: began.UTC(), Bytes: len(data), Counters: counters,
		Took: time.Since(began).Round(time.Microsecond).String()}
	p.mu.Lock()
	p.snaps.last = rec
	p.snaps.durable.Store(true)
	p.snaps.clean.offset, p.snaps.clean.gen = next, gen
	p.snaps.lastErr = keepErr
	p.mu.Unlock()
	d.m.snapshots.Inc()
	d.m.snapshotBytes.Observe(float64(len(data)))
	if err := d.state.prune(ctx, p.id); err != nil {
		d.log.Warn("pruning old snapshots", "partition", p.id, "err", err)
	}
	n, err := d.state.removeStaleTemps(p.id)
	if err != nil {
		d.log.Warn("removing stale snapshot temporaries", "partition", p.id, "err", err)
	}
	if n > 0 {
		d.m.snapshotTempsRemoved.Add(float64(n))
		d.log.Info("removed temporaries of snapshot writes cut short", "partition", p.id, "removed", n, "older_than", lakehouse.DefaultOrphanGrace)
	}
	return nil
}

// waitAlertsQueued waits until every applied backfill's alerts were handed to the
// producer (whose flush the snapshot then waits for).
func (p *partition) waitAlertsQueued(ctx context.Context) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		p.mu.Lock()
		n := p.unqueuedAlerts
		p.mu.Unlock()
		if n == 0 && p.endedUnacked.Load() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (partition %d: backfill alerts not queued): %w", errNotDelivered, p.id, ctx.Err())
		case <-t.C:
		}
	}
}

// waitDelivered waits until everything produced for partition p's events below offset
// has been delivered.
func (d *Daemon) waitDelivered(ctx context.Context, p int32, offset int64) error {
	c := d.consumer.Load()
	if c == nil {
		return errNotDelivered
	}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		at, owned := c.Delivered(p)
		// at < 0: nothing was handled here, so nothing was produced for the state's events
		// by this process; what earlier owners produced is not this snapshot's to wait for.
		if owned && (at < 0 || at >= offset) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (partition %d, offset %d): %w", errNotDelivered, p, offset, ctx.Err())
		case <-t.C:
		}
	}
}

// snapshotLoop stores changed partitions every SnapshotInterval until ctx ends, and a
// partition's first snapshot as soon as it has one to store (every CommitInterval):
// its offsets are not committed until then (CommitLimit).
func (d *Daemon) snapshotLoop(ctx context.Context) error {
	t := time.NewTicker(min(d.cfg.SnapshotInterval, d.cfg.CommitInterval))
	defer t.Stop()
	lastRound := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		round := time.Since(lastRound) >= d.cfg.SnapshotInterval
		if round {
			lastRound = time.Now()
		}
		for _, p := range d.ownedPartitions() {
			p.snaps.mu.Lock()
			gone := p.snaps.gone
			p.snaps.mu.Unlock()
			if gone || !round && p.snaps.durable.Load() {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, d.cfg.SnapshotInterval)
			_ = d.snapshotPartition(sctx, p, "interval", false)
			cancel()
		}
	}
}
