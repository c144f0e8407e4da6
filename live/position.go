package live

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// ResumeAt implements ingest.Positioner: restored partitions resume at their snapshot's
// offset; the others adopt the active rules where consumption starts (the committed
// offset, else the log's start or end as StartAt says), so that a rule's history is
// backfilled even if no event comes; at a committed offset, with backfill, they also
// replay the ended versions an earlier owner may have left incidents of open
// (inheritWithoutSnapshot).
func (d *Daemon) ResumeAt(committed map[int32]int64) map[int32]int64 {
	out := map[int32]int64{}
	var unknown []int32
	ends := d.inheritedEnds(committed)
	// The active set is read under each partition's lock, never before: a set
	// published meanwhile (rules.go) skips partitions whose next is not known yet, so
	// one read earlier (before the log lookup below, which takes time) would leave
	// them holding the older set until their first event.
	for pid, c := range committed {
		d.partsMu.RLock()
		p := d.parts[pid]
		d.partsMu.RUnlock()
		if p == nil || p.snaps.abandoned {
			// Abandoned: nothing is adopted at an offset its state was never known at.
			continue
		}
		p.mu.Lock()
		switch {
		case p.next >= 0:
			// Restored before it was published to d.parts: a set published during the
			// restore did not reach it.
			if s := d.active.Load(); p.active != s {
				p.reconcile(d, s, p.next)
			}
			out[pid] = p.next
		case c >= 0:
			d.inheritWithoutSnapshot(p, c, ends[pid].stable)
		default:
			unknown = append(unknown, pid)
		}
		p.mu.Unlock()
		d.produceEnded(p) // of versions that ended during the restore
	}
	// Without backfill the start is looked up too: the initial snapshot needs it; and
	// with StartAt latest, which only a new group may follow (startPositions).
	if len(unknown) > 0 && (d.bf != nil || d.state != nil || d.cfg.StartAt == "latest") {
		for pid, at := range d.startPositions(unknown) {
			d.partsMu.RLock()
			p := d.parts[pid]
			d.partsMu.RUnlock()
			if p != nil {
				p.mu.Lock()
				if p.next < 0 {
					p.next = at
					p.reconcile(d, d.active.Load(), at)
				}
				// Resume exactly where the rules adopted the partition: a second lookup
				// by the client could land later and leave events between uncounted.
				out[pid] = p.next
				p.mu.Unlock()
			}
		}
	}
	d.storeInitialSnapshots(committed)
	return out
}

// inheritedEnds is the log's bounds of the partitions of committed that resume at the
// group's committed offset without a snapshot, when backfill replays what an earlier
// owner may have left open up to the log's last stable offset
// (inheritWithoutSnapshot); none when it does not, or the listing fails (logBounds
// logs it): the replays then end at the committed offset.
func (d *Daemon) inheritedEnds(committed map[int32]int64) map[int32]logBound {
	if d.bf == nil {
		return nil
	}
	var ps []int32
	for pid, c := range committed {
		d.partsMu.RLock()
		p := d.parts[pid]
		d.partsMu.RUnlock()
		if p == nil || c < 0 || p.snaps.abandoned {
			continue
		}
		p.mu.Lock()
		if p.next < 0 { // restored partitions know theirs
			ps = append(ps, pid)
		}
		p.mu.Unlock()
	}
	if len(ps) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.logBounds(ctx, ps)
}

// startPositions lists where consumption of partitions without a committed offset
// starts: the start or end of the log as StartAt says, for a new group. A group that
// committed offsets of the events topic is not new: a partition of it without one was
// added to the topic since, and its events from the start are the group's to count
// (with latest, those written before this process saw the partition were skipped).
func (d *Daemon) startPositions(ps []int32) map[int32]int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	latest := d.cfg.StartAt == "latest" && d.groupIsNew(ctx)
	out := map[int32]int64{}
	for p, b := range d.logBounds(ctx, ps) {
		out[p] = b.start
		if latest {
			// Not the log's end: an open transaction's events below it are read when it
			// commits, and would be counted by nothing, live reading on from above them.
			out[p] = b.stable
		}
	}
	return out
}

// groupIsNew reports whether the group has committed no offset of the events topic.
// Once it has, it is never new again. If the commits cannot be read, the group is
// taken as new, as StartAt says, and a warning logged.
func (d *Daemon) groupIsNew(ctx context.Context) bool {
	if d.groupCommitted.Load() {
		return false
	}
	at, err := d.readCommitted(ctx)
	if err == nil {
		if len(at) > 0 {
			d.groupCommitted.Store(true)
			return false
		}
		return true
	}
	d.log.Warn("cannot read the group's committed offsets; partitions without one start at the end of the log (--start-at latest)", "group", d.cfg.Group, "err", err)
	return true
}

// readCommitted reads the group's committed offsets of the events partitions (those
// with none absent).
func (d *Daemon) readCommitted(ctx context.Context) (map[int32]int64, error) {
	cl, err := d.cfg.Kafka.NewClient()
	if err != nil {
		return nil, fmt.Errorf("reading the group's committed offsets: %w", err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, d.cfg.Group)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("reading group %s's committed offsets: %w", d.cfg.Group, err)
	}
	out := map[int32]int64{}
	for p, o := range offs[d.cfg.Topics.Events] {
		if o.At >= 0 {
			out[p] = o.At
		}
	}
	return out, nil
}

// storeInitialSnapshots stores the initial snapshot (reasonInitial) of each newly
// assigned partition that restored none. It runs before the partitions' first fetch, so
// nothing has been evaluated: every record produced for them is delivered. A failure
// is logged and leaves the partition's commits held back until a snapshot is stored.
func (d *Daemon) storeInitialSnapshots(assigned map[int32]int64) {
	if d.state == nil {
		return
	}
	for pid := range assigned {
		d.partsMu.RLock()
		p := d.parts[pid]
		d.partsMu.RUnlock()
		if p == nil || p.snaps.durable.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.SnapshotInterval)
		_ = d.snapshotPartition(ctx, p, reasonInitial, true)
		cancel()
	}
}
