package live

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
)

// partition is the evaluator's state for one owned events partition. Its worker is the
// only writer; HTTP readers take mu, which the worker holds for a whole batch.
//
// Counters (counterStore) are grouped by customer: an event costs one customer lookup
// however many rules it matches.
type partition struct {
	mu      sync.Mutex
	id      int32
	active  *activeSet
	matcher *rule.Matcher
	// starts holds, per active rule version, the offset of the first event of this
	// partition evaluated with it (DESIGN.md's start[p]): its counts cover offsets ≥ it.
	starts map[*activeRule]int64
	// pending holds the hand-off backfill job of each rule version still counting this
	// partition's history; a version is "backfilling" here until its job's counts are in.
	pending map[*activeRule]*pendingBackfill
	counts  counterStore
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
}

func newPartition(id int32) *partition {
	return &partition{id: id, starts: map[*activeRule]int64{}, pending: map[*activeRule]*pendingBackfill{}, counts: newCounterStore(), next: -1}
}

// reconcile adopts the active set s before evaluating the event at offset: rule versions new
// to this partition start at offset, and their history below it is handed to a backfill
// job (when the daemon backfills); counters and jobs of versions no longer active go.
func (p *partition) reconcile(d *Daemon, s *activeSet, offset int64) {
	removed, added := false, false
	for ar := range p.starts {
		if s.byKey[ar.key] != ar {
			delete(p.starts, ar)
			if pb := p.pending[ar]; pb != nil {
				pb.cancel()
				delete(p.pending, ar)
			}
			removed = true
		}
	}
	for _, ar := range s.byKey {
		if _, ok := p.starts[ar]; !ok {
			added = true
			p.starts[ar] = offset
			if d.bf != nil && offset > 0 && !p.revoked {
				p.pending[ar] = d.startBackfill(p, ar, offset)
			}
		}
	}
	if removed {
		p.counts.drop(func(id uint32) bool { return s.byID[id] == nil })
	}
	p.active = s
	p.matcher = s.set.NewMatcher()
	if added || removed {
		p.gen++
	}
}

// HandleBatch evaluates one partition's batch (ingest.Handler).
func (d *Daemon) HandleBatch(b *ingest.Batch) {
	p := d.partition(b.Partition)
	p.mu.Lock()
	defer p.mu.Unlock()
	// One clock read per event: each event's evaluation time runs from the end of the
	// previous one, so it includes decoding (done by the iterator) as well as matching.
	last := time.Now()
	for ev := range b.Events() {
		s := d.active.Load()
		if s != p.active {
			p.reconcile(d, s, ev.Offset)
		}
		p.next = ev.Offset + 1
		p.matched = p.matcher.Match(ev.Customer, ev.Doc, p.matched[:0])
		if len(p.matched) > 0 {
			ci := p.counts.intern(ev.Customer) // copies the name, which aliases the fetch buffer
			for _, r := range p.matched {
				ar := s.byRule[r]
				if n := p.counts.add(ci, ar.id, 1); n == r.Threshold {
					d.raise(b, ev, ar, n)
				}
			}
		}
		now := time.Now()
		d.m.eval.Observe(now.Sub(last).Seconds())
		if !ev.Time.IsZero() {
			d.m.age.Observe(now.Sub(ev.Time).Seconds())
		}
		last = now
	}
	// Past dead-lettered records too, so that a snapshot does not send them again.
	p.next = b.NextOffset()
	d.eventsSeen.Add(int64(b.Len()))
}

// raise publishes the alert for the counter of (ar, ev.Customer) reaching count.
func (d *Daemon) raise(b *ingest.Batch, ev *ingest.Event, ar *activeRule, count int64) {
	r := ar.rule
	a := Alert{
		AlertID:   AlertID(r.Scope, r.ID, r.Version, ev.Customer, r.Threshold),
		RuleID:    r.ID,
		Scope:     r.Scope,
		Version:   r.Version,
		Customer:  ev.Customer,
		Count:     count,
		Threshold: r.Threshold,
		Partition: ev.Partition,
		Offset:    ev.Offset,
		EventTime: ev.Time.UTC(),
		Source:    SourceLive,
	}
	// Key and value share one allocation.
	buf := append(make([]byte, 0, len(ev.Customer)+320), ev.Customer...)
	buf = a.AppendJSON(buf)
	n := len(ev.Customer)
	d.m.alerts.Inc()
	d.alertsRaised.Add(1)
	b.Emit(ev, &kgo.Record{Topic: d.cfg.Topics.Alerts, Key: buf[:n:n], Value: buf[n:]}, nil)
}
