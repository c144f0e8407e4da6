package live

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
)

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
				ar := s.versionOfMatched(r)
				if n := p.counts.add(ci, ar.Seq, 1); n == r.Threshold {
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
func (d *Daemon) raise(b *ingest.Batch, ev *ingest.Event, ar *controls.Version, count int64) {
	r := ar.Rule
	a := contract.Alert{
		AlertID:   contract.AlertID(r.Scope, r.ID, r.Version, ev.Customer, r.Threshold),
		RuleID:    r.ID,
		Scope:     r.Scope,
		Version:   r.Version,
		Customer:  ev.Customer,
		Count:     count,
		Threshold: r.Threshold,
		Partition: ev.Partition,
		Offset:    ev.Offset,
		EventTime: ev.Time.UTC(),
		Source:    contract.SourceLive,
	}
	// Key and value share one allocation.
	buf := append(make([]byte, 0, len(ev.Customer)+320), ev.Customer...)
	buf = a.AppendJSON(buf)
	n := len(ev.Customer)
	d.m.alerts.Inc()
	d.alertsRaised.Add(1)
	b.Emit(ev, &kgo.Record{Topic: d.cfg.Topics.Alerts, Key: buf[:n:n], Value: buf[n:]}, nil)
}
