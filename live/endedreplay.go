package live

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/window"
)

// The replay of an ended version (docs/architecture.md, "Alert record"). A version
// that ends in a partition resolves the incidents its state holds open; but a process
// that owned the partition before this one, killed after its last snapshot, may have
// evaluated later events with the version and sent firing alerts this process's state
// does not hold: the snapshot names a version ended since, or there is no snapshot
// and any remembered ended version may have run, or the version ends here before this
// process has caught up with where the killed one may have got, or while its hand-off
// (a recount) is still being computed. Which events the killed process
// reached, nothing records: the log's last stable offset when the partition was
// restored (or, without a snapshot, assigned) bounds them. Not the log's end (the high
// watermark): reading committed, that process read nothing of a transaction still
// open then, nor after its first record; taken to the end, a replay held back until
// such a transaction committed read its events and resolved incidents no process had
// fired (TestEndedReplayEndsAtTheLastStableOffset).
// So the version's history is replayed up to that end (as a hand-off replays it: the
// lake, then Kafka), and every incident it opens at or above the offset from which
// such alerts may have been sent is resolved: as it closes in the replay, or at the
// end. An incident opened past where the killed process got gets a resolve of an
// alert never sent, which receivers drop. Until the replay's resolves are out, the
// partition stores no snapshot.

// replayEndedIfOwed queues the replay of windowed version ar, which ends in p at
// offset at, when a process before this one may have sent firing alerts of it that
// the state here does not hold: its hand-off, a recount or one a restored snapshot
// held pending, is still pending (the state is not built yet), or this process has
// not reached where the killed one may have got (p.restoredEnd) with a version it
// inherited. The caller holds p's lock, and
// calls it before ar's pending job and state go.
//
// A pending recount's start is not where the version's alerts began: on a partition
// started without a snapshot it is where this process resumed, and a recount a
// restored snapshot held pending (its flag says so, and every pending hand-off of a
// snapshot before encoding version 8) started where the process that stored it
// resumed without one; the earlier owner may have fired from anywhere below. The
// recount, finished, would have resolved every incident it closed from the log's
// start (runWindowJob), so the replay does too, one verdict whatever the timing
// (TestEditDuringRecountResolvesEarlierFiring,
// TestRestoredRecountEndedWhilePendingResolvesEarlierFiring). That holds as well for
// a version newer than the restored snapshot, recounted from the resume offset,
// whose incidents below it no one fired: the finished recount would resolve them
// too, and receivers drop a resolve of an incident they never opened. An ordinary
// hand-off a snapshot held pending resolves from its start only: below it,
// history's incidents were silent (TestPendingHandoffEndedAfterSnapshotResolvesNothingNeverFired).
func (d *Daemon) replayEndedIfOwed(p *partition, ar *controls.Version, at int64) {
	if d.bf == nil || p.revoked || ar.Rule.Plain() || !ar.Rule.Resolves() {
		return
	}
	switch pb := p.pending[ar]; {
	case pb != nil && (pb.recount || p.inherited[ar]):
		// Inherited and not a recount: an ordinary hand-off a snapshot held pending,
		// which a process killed since may have finished, firing from its start.
		from := firingsFrom(ar, pb.start)
		if pb.recount {
			from = 0
		}
		d.startEndedReplay(p, ar, pb.start, from, max(at, p.restoredEnd))
	case pb == nil && p.inherited[ar] && at < p.restoredEnd:
		d.startEndedReplay(p, ar, p.starts[ar], at, p.restoredEnd)
	}
}

// endedReplay is a replay owed of ended version ar (startEndedReplay's arguments).
type endedReplay struct {
	ar               *controls.Version
	start, from, end int64
}

// unheldReplays lists the replays owed, up to end, of the ended versions vs in a
// partition whose state here holds none of them from offset start, where an earlier
// process may have run them and sent firing alerts. startKnown: they started there at
// start or later (a snapshot at start did not name them), so their firings were sent
// from firingsFrom; otherwise (no snapshot) from anywhere, and every incident from the
// log's start is resolved, as a recount resolves those of the active versions.
func (d *Daemon) unheldReplays(vs []*controls.Version, start, end int64, startKnown bool) []endedReplay {
	if d.bf == nil {
		return nil
	}
	var out []endedReplay
	for _, v := range vs {
		from := int64(0)
		if startKnown {
			from = firingsFrom(v, start)
		}
		if !v.Rule.Plain() && v.Rule.Resolves() && (end > start || from < start) {
			out = append(out, endedReplay{ar: v, start: start, from: from, end: end})
		}
	}
	return out
}

// inheritWithoutSnapshot takes over partition p, whose state no snapshot restored, at
// the group's committed offset at, with backfill on: an earlier process of the group
// counted it, perhaps killed after the commit, up to the log's last stable offset (end,
// when known), and with no snapshot nothing says which versions it ran. Every ended
// version the registry remembers may have fired there and been replaced or deleted
// since, its incidents left open at the receivers: each is replayed (from the log's
// start, the version's start there not being known;
// TestNoSnapshotsVersionEndedWhileDownResolves).
// The versions its first reconcile adopts are recounts, inherited up to end as on a
// restored partition. The caller holds p's lock; p has adopted no set yet.
func (d *Daemon) inheritWithoutSnapshot(p *partition, at, end int64) {
	p.next = at
	if d.bf != nil {
		p.restoredEnd = end
	}
	p.reconcile(d, d.active.Load(), at)
	if p.revoked {
		return
	}
	for _, r := range d.unheldReplays(d.rules.EndedAfter(-1), at, max(at, end), false) {
		d.startEndedReplay(p, r.ar, r.start, r.from, r.end)
	}
}

// firingsFrom is the lowest offset at which ar's firing alerts were sent in a
// partition where it started at start: history's are held back unless the rule says
// backfill: {alert: true}.
func firingsFrom(ar *controls.Version, start int64) int64 {
	if b := ar.Rule.Backfill; b != nil && b.Alert {
		return 0
	}
	return start
}

// startEndedReplay queues the replay of ended version ar in partition p: its
// history below end, resolving the incidents opened from offset from; start is the
// version's start there (its lookback applies below it). The caller holds p's lock.
func (d *Daemon) startEndedReplay(p *partition, ar *controls.Version, start, from, end int64) {
	ctx, cancel := context.WithCancel(d.bf.ctx)
	pb := &pendingBackfill{start: start, end: end, endedReplay: true, replayFrom: from, began: time.Now(), cancel: cancel}
	p.endedReplays[ar] = pb
	d.m.backfillsRunning.Inc()
	d.log.Info("rule version ended where a killed process may have sent firing alerts of it that this one does not hold: replaying it to resolve them",
		"rule", ar.Key.String(), "version", ar.Rule.Version, "partition", p.id, "from", from, "to", end)
	d.bf.queue.push(ar.Key.Scope, &handoffJob{p: p, ar: ar, pb: pb, ctx: ctx, retry: d.bf.policy()}, time.Time{})
}

// runEndedReplay makes one attempt at ended version replay j, as runWindowJob does for a
// hand-off.
func (d *Daemon) runEndedReplay(j *handoffJob) {
	ar, pb := j.ar, j.pb
	pb.attempts.Add(1)
	cfg := d.historyOf(ar, pb.start)
	// Not EndRead, as a hand-off's replay is: pb.end may be the last stable offset listed
	// at the restore (p.restoredEnd), not an offset read, and a Kafka listing behind it
	// (a leader newly elected) is no reason to hold the replay, and the partition's
	// snapshots, back; the replay then reads what the log lists. Nor does it wait for
	// an open transaction: Kafka's listing here ends at the last stable offset too
	// (TestEndedReplayEndsAtTheLastStableOffset, "aborted").
	// Only the incidents opened from replayFrom may be another process's to resolve:
	// those opened below are silent, so that the state resolves those alone.
	cfg.SilentBelow = pb.replayFrom
	var resolves []pastCrossing
	h, err := backtest.PartitionState(j.ctx, cfg, ar.Rule, j.p.id, pb.end, func(offset int64, at time.Time, c window.Crossing) {
		if c.Windowed && c.Resolved {
			c.Group = append([]byte(nil), c.Group...)
			resolves = append(resolves, pastCrossing{offset: offset, at: at, c: c})
		}
	})
	if err != nil {
		d.failedAttempt(j, err, retryCannotCure(err))
		return
	}
	d.m.backfillsRunning.Dec()
	pb.cancel()
	d.historyCutShort(j.p.id, ar, int64(h.EvalCutShort))
	if len(h.Missing) > 0 {
		d.log.Warn("an ended version's replay lacks history: incidents opened by the events it could not read are not resolved",
			"rule", ar.Key.String(), "version", ar.Rule.Version, "partition", j.p.id, "missing", h.Missing)
	}
	d.produceAlerts(j.p, d.applyEndedReplay(j.p, ar, pb, h.State, resolves), true)
}

// applyEndedReplay ends replay pb of ended version ar in p: the resolves the replay raised, then
// those of the incidents opened from its replayFrom left open at its end (st, nil:
// none), are returned for the caller to produce once the lock is released. Nil when p
// was revoked meanwhile.
func (d *Daemon) applyEndedReplay(p *partition, ar *controls.Version, pb *pendingBackfill, st *window.State, resolves []pastCrossing) []*kgo.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.revoked || p.closing || p.endedReplays[ar] != pb {
		return nil
	}
	delete(p.endedReplays, ar)
	p.gen++ // the snapshot stored last may owe this replay: the next is stored, whatever else changed
	alerts := make([]*kgo.Record, 0, len(resolves))
	for _, x := range resolves {
		alerts = append(alerts, d.keptAlert(ar, x.c, p.id, x.offset, x.at, contract.SourceLive))
	}
	if st != nil {
		now := time.Now()
		st.EndIncidents(func(c window.Crossing) { // the silent ones, opened below replayFrom, send none
			alerts = append(alerts, d.keptAlert(ar, c, p.id, pb.end, now, contract.SourceLive))
		})
	}
	if len(alerts) > 0 {
		p.unqueuedAlerts++
	}
	d.m.backfillsDone.Inc()
	d.log.Info("ended version's replay complete", "rule", ar.Key.String(), "version", ar.Rule.Version, "partition", p.id,
		"from", pb.replayFrom, "to", pb.end, "resolved", len(alerts))
	return alerts
}
