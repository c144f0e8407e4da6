package live

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// partition is the evaluator's state for one owned events partition. Its worker is the
// only writer; HTTP readers take mu, which the worker holds for a whole batch.
//
// Counters (counterStore) are grouped by customer: an event costs one customer lookup
// however many rules it matches.
type partition struct {
	mu sync.Mutex
	id int32
	// dropping is set by drop, before it takes any lock, for each partition it was
	// given, and stays set until the partition leaves d.parts: no longer this
	// process's, a lost one perhaps another member's already, so the probes and
	// /v1/state leave it out (listedPartitions). Not revoked, which is read under mu:
	// a worker holds mu for a whole batch, a query for its walk, and a liveness probe
	// must not wait behind them (TestPartitionsBeingDroppedAreNotListed). Set for each
	// one drop was given, so that all are left out from then on, not only the ones it
	// has reached.
	dropping atomic.Bool
	active   *activeSet
	matcher  *rule.Matcher
	// starts holds, per active rule version, the offset of the first event of this
	// partition evaluated with it (docs/architecture.md, "The hand-off"): its counts cover offsets ≥ it.
	starts map[*controls.Version]int64
	// pending holds the hand-off backfill job of each rule version still counting this
	// partition's history; a version is "backfilling" here until its job's counts are in.
	pending map[*controls.Version]*pendingBackfill
	// incomplete holds, per rule version, the history below its start that its finished
	// backfill could not read (backfill.Result.Missing): counts that are a lower bound
	// must say so in the rule view, after a restart too (snapshots keep it).
	incomplete map[*controls.Version][]contract.MissingRange
	// refused counts, per plain rule version, the matches not counted because counts
	// was full (Config.MaxCounters): the version's counts are a lower bound, so it is
	// degraded, after a restart too (snapshots keep it).
	refused map[*controls.Version]int64
	// refusedSeries are the metric series counterRefused adds to.
	refusedSeries map[refusal]prometheus.Counter
	// restoredOver names, per plain rule version with counters restored, the limits
	// the restore left the store over (restoredover.go).
	restoredOver map[*controls.Version][]string
	// history holds, per rule version, what its finished hand-off found below its
	// start (history.go), for the rule view.
	history map[*controls.Version]*partHistory
	counts  counterStore
	// windows holds the state of each active version that is not a plain count
	// (rule.Rule.Plain): groups, windows, aggregates, made at its first match. Change it
	// through setWindow and dropWindow only, which keep winCache true.
	windows map[*controls.Version]*window.State
	// winCache finds the window state of a matched version by its Seq without the
	// map's probe (a tenth of the windowed evaluation with 500 windowed rules): direct
	// mapped, an entry holds the last version of its slot looked up (ws nil: none).
	winCache []winEntry
	// buffers hold the matched events of windowed versions whose history is being
	// computed (windowhandoff.go); such a version is also in pending.
	buffers map[*controls.Version]*handoffBuffer
	// shared holds the event's values that windowed rules share (window.Shared).
	shared  window.Shared
	matched []*rule.Rule
	// next is the offset of the next event this partition will evaluate (-1: not known
	// yet). A rule that arrives while the partition is idle starts there.
	next int64
	// gen counts changes to the state other than evaluating events (rules adopted or
	// dropped, backfills applied), so that a snapshot is stored when either moved.
	gen   uint64
	snaps partitionSnapshots
	// revoked is set (under mu) when the partition leaves this process: no job starts
	// for it any more and late results are dropped.
	revoked bool
	// closing is set (under mu) before the revoke snapshot is encoded: from then on no
	// job's result applies (applyBackfill, applyWindowHandoff, applyEndedReplay), for
	// the snapshot holds the job as pending and the next owner runs it again; a result
	// applied after the encoding had its alerts produced here and there. Nor is a
	// rule set published from then on adopted (publishRules): a version it ends had
	// its resolves sent here and, from the snapshot holding them open, by the next
	// owner (TestVersionEndedAfterRevokeSnapshotResolvesOnce); the next owner adopts
	// it at the snapshot's offset (TestRuleAdoptedDuringRevokeSnapshotIsPending).
	closing bool
	// unqueuedAlerts counts applied backfills whose alerts are in the counters but not
	// yet handed to the producer; a snapshot waits for zero, so that it never covers an
	// alert that a crash would lose.
	unqueuedAlerts int
	// historyLost, when set, is why the history below where the partition resumes is
	// counted nowhere (a snapshot not restored, without backfill): the versions its
	// first reconcile adopts record it as incomplete, so that their status says error.
	historyLost string
	// ended holds the resolved records of incidents whose rule version ended here
	// (endIncidents), until whoever adopted the change produces them (takeEnded); while
	// any are held, unqueuedAlerts counts one more.
	ended []*kgo.Record
	// endedUnacked counts the records produceInOrder produced (resolves of ended
	// versions, a windowed hand-off's alerts) not yet acknowledged: a snapshot, whose
	// state they follow from, waits for zero.
	endedUnacked atomic.Int64
	// held are the dead letters of the alerts raised outside a batch for the partition
	// (produceAlert, produceInOrder) that the dead-letter topic refused, held by
	// d.reroute until it takes them; drop gives them up with the partition, whose next
	// owner raises those alerts again (TestHandoffDeadLetterHeldAcrossRevokeIsGivenUp).
	held *ingest.Holds
	// endedReplays holds the replay job of each version that ended here leaving
	// incidents a killed process may have opened (endedreplay.go); while any runs, no
	// snapshot is stored, so that a crash meanwhile restores one that owes them again.
	endedReplays map[*controls.Version]*pendingBackfill
	// restoredEnd is the log's last stable offset when this process restored the
	// partition from a snapshot, or took it over at the group's committed offset
	// without one, with backfill (0: neither): a process before it, killed, may have
	// evaluated the events between the snapshot (the commit) and there with the
	// versions this one inherited (restored, or adopted by its first reconcile), and
	// sent alerts nothing here holds; reading committed, it read none past there.
	restoredEnd int64
	inherited   map[*controls.Version]bool
	// topicID is Kafka's id of the events topic whose events the partition counts
	// (zeros: unknown), kept in its snapshots (state.go).
	topicID [16]byte
	// evalTick counts the events evaluated, for the one in evalSampleEvery timed.
	evalTick uint64
}

func newPartition(id int32) *partition {
	return &partition{id: id, starts: map[*controls.Version]int64{}, pending: map[*controls.Version]*pendingBackfill{},
		incomplete: map[*controls.Version][]contract.MissingRange{}, refused: map[*controls.Version]int64{},
		refusedSeries: map[refusal]prometheus.Counter{}, restoredOver: map[*controls.Version][]string{}, windows: map[*controls.Version]*window.State{},
		buffers: map[*controls.Version]*handoffBuffer{}, history: map[*controls.Version]*partHistory{},
		endedReplays: map[*controls.Version]*pendingBackfill{}, inherited: map[*controls.Version]bool{},
		counts: newCounterStore(), held: ingest.NewHolds(), next: -1}
}

// refusal is a rule version's matches refused for one limit.
type refusal struct {
	ar    *controls.Version
	limit string
}

// newPartition makes partition id with the store bounds of d's configuration.
func (d *Daemon) newPartition(id int32) *partition {
	p := newPartition(id)
	p.counts.max, p.counts.maxNames = max(d.cfg.MaxCounters, 0), d.cfg.MaxCustomerIDBytes
	return p
}

// reconcile adopts the active set s before evaluating the event at offset: rule versions new
// to this partition start at offset, and their history below it is handed to a backfill
// job (when the daemon backfills); counters and jobs of versions no longer active go.
//
// A partition that holds the set s was derived from applies s's changes only (p.starts
// is then exactly that set's versions: only reconcile adopts sets); any other (the
// first set, a set built whole, a partition that skipped sets, a restored one) compares
// every active version.
func (p *partition) reconcile(d *Daemon, s *activeSet, offset int64) {
	removed, added := false, false
	// A partition's first set in this process adopts versions that may have run on it
	// before (elsewhere, or before a restart): their hand-offs recount.
	recount := p.active == nil
	drop := func(ar *controls.Version) {
		if ws := p.windows[ar]; ws != nil {
			p.endIncidents(d, ar, ws, offset)
		}
		d.replayEndedIfOwed(p, ar, offset) // before its pending job, which it reads, goes
		delete(p.inherited, ar)
		delete(p.starts, ar)
		delete(p.incomplete, ar)
		delete(p.refused, ar)
		delete(p.restoredOver, ar)
		delete(p.refusedSeries, refusal{ar, limitCounters})
		delete(p.refusedSeries, refusal{ar, limitCustomerIDs})
		delete(p.history, ar)
		p.dropWindow(ar)
		d.dropBuffer(p, ar)
		if pb := p.pending[ar]; pb != nil {
			d.cancelJob(ar, pb)
			delete(p.pending, ar)
		}
		removed = true
	}
	adopt := func(ar *controls.Version) {
		if _, ok := p.starts[ar]; !ok {
			added = true
			p.starts[ar] = offset
			if recount {
				p.inherited[ar] = true
			}
			if p.historyLost != "" && offset > 0 {
				p.incomplete[ar] = []contract.MissingRange{{Partition: p.id, From: 0, To: offset - 1, Reason: p.historyLost}}
			}
			if d.bf != nil && offset > 0 && !p.revoked {
				if ar.Rule.Plain() {
					d.startBackfill(p, ar, offset, offset, false)
				} else {
					d.startWindowHandoff(p, ar, offset, offset, recount)
				}
			}
		}
	}
	if p.active != nil && s.from != 0 && s.from == p.active.id {
		for _, ar := range s.gone {
			if _, ok := p.starts[ar]; ok {
				drop(ar)
			}
		}
		for _, ar := range s.put {
			adopt(ar)
		}
	} else {
		for ar := range p.starts {
			if s.version(ar.Key) != ar {
				drop(ar)
			}
		}
		s.eachVersion(adopt)
	}
	if removed {
		p.counts.drop(func(id uint32) bool { return s.versionByID(id) == nil })
	}
	p.historyLost = "" // versions adopted later count from their activation, as any without backfill
	p.active = s
	p.matcher = s.set.NewMatcher()
	if added || removed {
		p.gen++
	}
}

// endIncidents resolves the open incidents of ar, whose version ends in p before the
// event at offset (replaced or deleted): a firing alert already sent would otherwise
// never be resolved, its rule being gone (docs/architecture.md, "Alert record"). The
// records name offset, the first event the version did not evaluate, and the time p
// adopted the change; they wait in p.ended for the caller to produce once p's lock is
// released, and no snapshot, which no longer holds the incidents, is taken before.
func (p *partition) endIncidents(d *Daemon, ar *controls.Version, ws *window.State, offset int64) {
	at := time.Now()
	n := 0
	ws.EndIncidents(func(c window.Crossing) {
		if len(p.ended) == 0 {
			p.unqueuedAlerts++
		}
		p.ended = append(p.ended, d.keptAlert(ar, c, p.id, offset, at, contract.SourceLive))
		n++
	})
	if n > 0 {
		p.gen++ // a snapshot no longer holds them
		d.log.Info("rule version ended with open incidents: resolving them", "rule", ar.Key.String(), "version", ar.Rule.Version,
			"partition", p.id, "resolved", n)
	}
}

// takeEnded hands p.ended over (p.mu held) to a caller that produces the records and
// then takes back the one count of unqueuedAlerts they held (produceAlerts does).
func (p *partition) takeEnded() []*kgo.Record {
	recs := p.ended
	p.ended = nil
	return recs
}

// produceEnded produces the resolved records of versions that ended in p; p.mu must
// not be held. Each must reach the alerts topic after the firing alert it resolves
// (a receiver given resolve, then trigger, keeps the incident open): live raised that
// alert through the events consumer's client, whose records for one partition keep
// their order, so these go through it too, once the alerts history raised (through
// the daemon's other client, which nothing orders with the first) are acknowledged.
func (d *Daemon) produceEnded(p *partition) {
	p.mu.Lock()
	recs := p.takeEnded()
	p.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	if err := d.reroute.FlushHolds(ctx, p.held); err != nil {
		d.log.Warn("backfill alerts not acknowledged before resolving an ended version's incidents; a resolve may precede its firing alert", "partition", p.id, "err", err)
	}
	cancel()
	d.produceInOrder(p, recs, len(recs)) // endIncidents made resolved records only
	p.mu.Lock()
	p.unqueuedAlerts--
	p.mu.Unlock()
}

// produceInOrder produces recs, alerts of partition p raised outside an events batch,
// through the events consumer's client, which produced (and will produce) p's live
// alerts: the records of one alerts partition keep their order there, so that a
// resolve live raises after these never reaches the topic before its firing among
// them. A caller that holds p.mu orders them before every later batch of p too. A
// snapshot waits until they are acknowledged (endedUnacked). resolves of recs are
// resolved records, the rest firings (countAlerts).
func (d *Daemon) produceInOrder(p *partition, recs []*kgo.Record, resolves int) {
	cl := d.alertProducer
	if c := d.consumer.Load(); c != nil {
		cl = c.Client()
	}
	p.endedUnacked.Add(int64(len(recs)))
	d.countAlerts(len(recs)-resolves, resolves)
	for _, rec := range recs {
		cl.Produce(context.Background(), rec, func(r *kgo.Record, err error) {
			if err != nil {
				unacked := func() { p.endedUnacked.Add(-1) }
				d.reroute.FailedFor(r, err, p.held, unacked, unacked)
				return
			}
			d.reroute.Delivered(r)
			p.endedUnacked.Add(-1)
		})
	}
}

type winEntry struct {
	ar *controls.Version
	ws *window.State
	// r is ar's rule and set the id of the active set under which matchedWindow
	// found ar to be r's version (nil and 0 until it did): a matched rule then finds
	// its version and state here, without versionOfMatched's map probe.
	r   *rule.Rule
	set uint64
}

// matchedWindow is the version of rule r, which an event matched under the active set
// s (p's), and its window state in p (nil: none yet). A rule's version never changes
// (each version decodes a rule of its own), so a slot that found it under s holds for
// as long as s is active; a new set marks the slots again. The map probe this spares
// was 0.58–0.75 s of `bench throughput`'s 1,000 rules half windowed with the archive,
// against 0.18–0.23 s for this (2026-12-03, CPU profiles of two runs each).
func (p *partition) matchedWindow(s *activeSet, r *rule.Rule) (*controls.Version, *window.State) {
	n := uint32(len(p.winCache))
	if n > 0 {
		if e := &p.winCache[r.Seq&(n-1)]; e.r == r && e.set == s.id {
			return e.ar, e.ws
		}
	}
	ar := s.versionOfMatched(r)
	ws := p.window(ar)
	// Versions built by hand (tests) may number their rule otherwise: only a slot that
	// r's number finds is worth marking.
	if n = uint32(len(p.winCache)); r.Seq == ar.Seq && ws != nil {
		if e := &p.winCache[ar.Seq&(n-1)]; e.ar == ar {
			e.r, e.set = r, s.id
		}
	}
	return ar, ws
}

// window is ar's window state (nil: none yet).
func (p *partition) window(ar *controls.Version) *window.State {
	if len(p.winCache) > 0 {
		if e := &p.winCache[ar.Seq&uint32(len(p.winCache)-1)]; e.ar == ar {
			return e.ws
		}
	}
	ws := p.windows[ar]
	p.cacheWindow(ar, ws)
	return ws
}

func (p *partition) setWindow(ar *controls.Version, ws *window.State) {
	p.windows[ar] = ws
	p.cacheWindow(ar, ws)
}

func (p *partition) dropWindow(ar *controls.Version) {
	delete(p.windows, ar)
	p.cacheWindow(ar, nil)
}

// cacheWindow records ar's state in its slot, growing the cache to twice the states
// held (a power of two, at most 4,096 slots).
func (p *partition) cacheWindow(ar *controls.Version, ws *window.State) {
	if want := min(4096, max(16, 2*len(p.windows))); len(p.winCache) < want {
		n := 16
		for n < want {
			n *= 2
		}
		p.winCache = make([]winEntry, n) // refilled as versions are looked up
	}
	p.winCache[ar.Seq&uint32(len(p.winCache)-1)] = winEntry{ar: ar, ws: ws}
}
