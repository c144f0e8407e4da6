package live

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
)

// Assigned implements ingest.Handler: partitions new to this process restore their
// newest snapshot; ResumeAt then says where each resumes.
func (d *Daemon) Assigned(ps []int32) {
	var fresh []int32
	d.partsMu.RLock()
	for _, p := range ps {
		if _, owned := d.parts[p]; !owned { // a repeated assignment keeps the counters
			fresh = append(fresh, p)
		}
	}
	d.partsMu.RUnlock()
	restored := d.restore(fresh)
	d.partsMu.Lock()
	defer d.partsMu.Unlock()
	for _, p := range fresh {
		if _, owned := d.parts[p]; owned {
			continue
		}
		if part := restored[p]; part != nil {
			d.parts[p] = part
		} else {
			d.parts[p] = d.newPartition(p)
		}
	}
	d.m.partitions.Set(float64(len(d.parts)))
}

// Revoked implements ingest.Handler: the partitions' state is snapshotted for their next
// owner, then dropped here.
func (d *Daemon) Revoked(ps []int32) { d.drop(ps, true) }

// Lost implements ingest.Loser: the partitions are dropped without a snapshot. Their
// next owner may have taken them while this process could not hear it (paused past its
// session timeout) and moved on; a snapshot of the state held here, named after the
// new owner's, outranked them, and the owner after restored it: the partition rewound
// to this process's offset, a rule applied meanwhile without its history
// (TestPausedMemberDoesNotRewindItsLostPartitions). The next owner resumes from the
// last snapshot stored while the partitions were this process's, and handles the
// events after it again.
func (d *Daemon) Lost(ps []int32) { d.drop(ps, false) }

// drop ends this process's ownership of partitions ps, snapshotting each first when
// snapshot (a revoke).
func (d *Daemon) drop(ps []int32, snapshot bool) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	d.partsMu.RLock()
	var parts []*partition
	for _, p := range ps {
		if part := d.parts[p]; part != nil {
			parts = append(parts, part)
		}
	}
	d.partsMu.RUnlock()
	for _, part := range parts {
		part.dropping.Store(true)
	}
	for _, part := range parts {
		part.snaps.mu.Lock()
		part.snaps.gone = true
		part.snaps.mu.Unlock()
		// Closing before the snapshot is encoded, so that no job's result applies from
		// here on: the snapshot holds the job as pending, for the next owner to run
		// again, and a result applied after the encoding had its alerts produced here
		// and, run again, by the next owner too (TestChurnWindowedHistoryAlertsOnce). A
		// result applied before it is in the snapshot, which waits for its alerts.
		part.mu.Lock()
		part.closing = true
		part.mu.Unlock()
		if snapshot {
			err := d.snapshotPartition(ctx, part, "revoked", false)
			if d.runCtx != nil && d.runCtx.Err() != nil {
				// The stop's revoke: it ends with the error. A rebalance's stays the
				// warning snapshotPartition logged: the next owner restores the older
				// snapshot and evaluates the events since again.
				d.stopSnapshotFailed(part.id, err)
			}
		}
		part.mu.Lock()
		part.revoked = true
		for ar, pb := range part.pending {
			d.cancelJob(ar, pb) // its history is the next owner's to count (the snapshot says so)
			delete(part.pending, ar)
		}
		for ar, pb := range part.endedReplays {
			d.cancelJob(ar, pb) // the next owner replays it from the same snapshot, which none replaced
			delete(part.endedReplays, ar)
		}
		for ar := range part.buffers {
			d.dropBuffer(part, ar) // its events are the next owner's to read again
		}
		part.mu.Unlock()
		if h, ok := dropHooks.Load(d.cfg.Group); ok {
			h.(func(int32))(part.id)
		}
		d.giveUpHolds(part)
	}
	d.partsMu.Lock()
	defer d.partsMu.Unlock()
	for _, p := range ps {
		delete(d.parts, p)
	}
	d.m.partitions.Set(float64(len(d.parts)))
}

// dropHooks, set by tests (export_drop_test.go), map a consumer group to what runs in
// drop once each partition is revoked, its jobs cancelled, and before the next is: a
// test reads the views while the partitions still wait to leave d.parts. Keyed by
// group, as jobHooks are.
var dropHooks sync.Map // string → func(partition int32)

// giveUpHolds gives up the dead letters held for part's alerts raised outside a batch,
// after the snapshot (a revoke's) that flushed them: left running, a hold was written
// once the dead-letter topic took writes, besides the dead letter of the same alert
// the partition's next owner raises again, since no snapshot stored here counts it
// (TestHandoffDeadLetterHeldAcrossRevokeIsGivenUp). Its own timeout: the snapshot may
// have spent drop's.
func (d *Daemon) giveUpHolds(part *partition) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	n, err := part.held.GiveUp(ctx)
	if err != nil {
		d.log.Error("held dead letters of alerts were not all given up with their partition", "partition", part.id, "held", n, "err", err)
	} else if n > 0 {
		d.log.Warn("dead letters of alerts raised outside a batch, held while their topic refused them, were given up with their partition; its next owner raises those alerts again",
			"partition", part.id, "held", n)
	}
}

func (d *Daemon) partition(id int32) *partition {
	d.partsMu.RLock()
	p := d.parts[id]
	d.partsMu.RUnlock()
	if p != nil {
		return p
	}
	d.partsMu.Lock()
	defer d.partsMu.Unlock()
	if p = d.parts[id]; p == nil {
		p = d.newPartition(id)
		d.parts[id] = p
	}
	return p
}

// Partitions lists the events partitions this instance owns, those being dropped left
// out (listedPartitions): empty, not nil, when it owns none, so that /readyz and
// /healthz answer a list ([]) as documented, not null.
func (d *Daemon) Partitions() []int32 {
	ps := d.listedPartitions()
	ids := make([]int32, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.id)
	}
	return ids
}

// listedPartitions are the owned partitions, by id, but for those being dropped
// (dropping), which a reader that says what this process owns (/healthz, /readyz,
// /v1/state) leaves out: listed there, a lost partition was owned by two members at
// once. Takes no partition's lock.
func (d *Daemon) listedPartitions() []*partition {
	return slices.DeleteFunc(d.ownedPartitions(), func(p *partition) bool { return p.dropping.Load() })
}

// eachPartition calls fn with each owned partition, under its lock. A revoked one is
// left out: drop has cancelled its hand-offs, their history its next owner's, while
// its start offsets and counts stay until every partition drop was given is handled.
// Taken in, it read as handed off (its starts, no job pending), and a rule said live
// with counts that lacked its history
// (TestRuleNotLiveWithALostPartitionsHistoryUncounted). Revoked is checked under the
// partition's lock, which drop holds to set it: one collected before drop went on is
// seen revoked here.
func (d *Daemon) eachPartition(fn func(p *partition)) {
	d.partsMu.RLock()
	ps := slices.Collect(maps.Values(d.parts))
	d.partsMu.RUnlock()
	for _, p := range ps {
		p.mu.Lock()
		if !p.revoked {
			fn(p)
		}
		p.mu.Unlock()
	}
}

// ownedPartitions are the partitions in d.parts, by id, those being dropped included.
func (d *Daemon) ownedPartitions() []*partition {
	d.partsMu.RLock()
	defer d.partsMu.RUnlock()
	return slices.SortedFunc(maps.Values(d.parts), func(a, b *partition) int { return cmp.Compare(a.id, b.id) })
}
