package live

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// evalSampleEvery is how often an event's evaluation time and age are observed: one
// event in this many (hindsight_eval_seconds, hindsight_event_age_seconds, or
// hindsight_events_future_stamped_total for a stamp ahead of the clock).
const evalSampleEvery = 16

// HandleBatch evaluates one partition's batch (ingest.Handler).
func (d *Daemon) HandleBatch(b *ingest.Batch) {
	d.batchesRunning.Add(1)
	defer d.batchDone()
	p := d.partition(b.Partition)
	if p.snaps.abandoned {
		// Its restore was cut short by the stop, or its snapshots refused for their size
		// (heldPartition): evaluated on empty state, its events would raise what the
		// snapshot's counts do not. Its offsets are never
		// committed (CommitLimit), so its next owner reads them.
		return
	}
	ended := false
	defer func() {
		if ended { // after the unlock below: it produces, and waits for backfill alerts
			d.produceEnded(p)
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	if b.TopicID != ([16]byte{}) {
		p.topicID = b.TopicID
	}
	// One event in evalSampleEvery is timed, from the end of the previous one, so that
	// its time includes decoding (done by the iterator) as well as matching: two clock
	// reads and two histogram observations per event were an eighth of the CPU of a
	// daemon with one rule.
	timed := p.evalTick%evalSampleEvery == 0
	var last time.Time
	if timed {
		last = time.Now()
	}
	for ev := range b.Events() {
		s := d.active.Load()
		if s != p.active {
			p.reconcile(d, s, ev.Offset)
			ended = ended || len(p.ended) > 0
		}
		p.next = ev.Offset + 1
		p.matched = p.matcher.Match(ev.Customer, ev.Doc, p.matched[:0])
		if len(p.matched) > 0 {
			// Interned at the first plain count (copying the name, which aliases the
			// fetch buffer): a customer only windowed rules matched has no counter, and
			// the store keeps what it interns.
			ci := -1
			p.shared.Reset()
			for _, r := range p.matched {
				if !r.Plain() {
					ar, ws := p.matchedWindow(s, r)
					if h := p.buffers[ar]; h != nil {
						d.bufferWindowed(p, b, h, ev, ar)
					} else {
						d.evalWindowed(p, b, ev, ar, ws)
					}
					continue
				}
				seq := r.Seq
				if seq == 0 { // a rule no registry activated (tests build versions by hand)
					seq = s.versionOfMatched(r).Seq
				}
				if ci == -1 {
					ci = p.counts.intern(ev.Customer)
				}
				n := int64(ci) // noRoom or noNameRoom: the store refused the customer
				if ci >= 0 {
					n = p.counts.add(ci, seq, 1)
				}
				if n == r.Threshold.Count() {
					ar := s.versionOfMatched(r)
					d.raise(b, ev, ar, window.Crossing{Customer: ev.Customer, Count: n, Value: float64(n), Context: window.ContextOf(r, ev.Doc),
						Samples: []int64{ev.Offset}})
				} else if n < 0 {
					d.counterRefused(p, s.versionOfMatched(r), 1, n)
				}
			}
		}
		if n := ev.Doc.BudgetExceeded(); n > 0 {
			d.evalCutShort(ev.Partition, ev.Offset, n)
		}
		if timed {
			now := time.Now()
			d.m.eval.Observe(now.Sub(last).Seconds())
			if !ev.Time.IsZero() {
				// A stamp ahead of this clock (the producer's runs ahead) has no age: as a
				// negative one it fell in the fastest bucket and pulled the sum down.
				if age := now.Sub(ev.Time); age >= 0 {
					d.m.age.Observe(age.Seconds())
				} else {
					d.m.futureStamped.Inc()
				}
			}
		}
		p.evalTick++
		if timed = p.evalTick%evalSampleEvery == 0; timed {
			last = time.Now()
		}
	}
	// Past dead-lettered records too, so that a snapshot does not send them again.
	p.next = b.NextOffset()
	d.eventsSeen.Add(int64(b.Len()))
}

// counterRefused tells that n matches of ar in partition p were not counted: they
// needed a new counter, and p's store was full, why saying how (noRoom: at
// Config.MaxCounters; noNameRoom: at Config.MaxCustomerIDBytes). The version is
// degraded from then on, in its partition's snapshots too. Logged at most once a
// minute.
func (d *Daemon) counterRefused(p *partition, ar *controls.Version, n, why int64) {
	p.refused[ar] += n
	limit := limitCounters
	if why == noNameRoom {
		limit = limitCustomerIDs
	}
	k := refusal{ar, limit}
	series := p.refusedSeries[k]
	if series == nil {
		// Looked up once: a full store refuses every event of a new customer.
		series = d.m.windowDrops.WithLabelValues(ar.Key.String(), limit)
		p.refusedSeries[k] = series
	}
	series.Add(float64(n))
	d.m.limits.Count(limit).Add(float64(n))
	if now := time.Now().UnixNano(); now-d.lastRefusedLog.Load() > int64(time.Minute) {
		d.lastRefusedLog.Store(now)
		d.log.Warn("a partition's counter store is full: a match that needed a new counter was not counted, and the rule is degraded (hindsight_window_limit_drops_total{limit=\""+limit+"\"})",
			"partition", p.id, "rule", ar.Key.String(), "limit", limit, "max_counters", d.cfg.MaxCounters, "max_customer_ids_bytes", d.cfg.MaxCustomerIDBytes)
	}
}

// evalCutShort tells that n evaluations of rule paths on the event at offset of
// partition ran out of their work budget (jsonpath.ErrEvalLimit): their results were
// cut short, so a rule may have missed the event. Counted (evaluations, not events:
// the same event may come again through a hand-off), and logged at most once a minute.
func (d *Daemon) evalCutShort(partition int32, offset int64, n int) {
	d.m.evalCutShort.Add(float64(n))
	d.m.limits.Count(rule.LimitEvalWork).Add(float64(n))
	if now := time.Now().UnixNano(); now-d.lastCutShortLog.Load() > int64(time.Minute) {
		d.lastCutShortLog.Store(now)
		d.log.Warn("a rule path's evaluation ran out of its work budget on an event: its result was cut short, and a rule may not have counted the event (hindsight_eval_budget_exceeded_total)",
			"partition", partition, "offset", offset)
	}
}

// historyCutShort tells that n evaluations of rule version ar's paths over partition
// pid's history, by a hand-off's job, ran out of their work budget: counted as live's
// own (evalCutShort), and logged with the rule.
func (d *Daemon) historyCutShort(pid int32, ar *controls.Version, n int64) {
	if n <= 0 {
		return
	}
	d.m.evalCutShort.Add(float64(n))
	d.m.limits.Count(rule.LimitEvalWork).Add(float64(n))
	d.log.Warn("rule path evaluations over a partition's history ran out of their work budget: their results were cut short, and the rule may not have counted those events (hindsight_eval_budget_exceeded_total)",
		"rule", ar.Key.String(), "version", ar.Rule.Version, "partition", pid, "evaluations", n)
}

// evalWindowed adds ev, which ar's condition matched, to ar's window state in p, ws
// (nil: none yet, or not looked up).
func (d *Daemon) evalWindowed(p *partition, b *ingest.Batch, ev *ingest.Event, ar *controls.Version, ws *window.State) {
	if ws == nil {
		ws = p.window(ar)
	}
	if ws == nil {
		ws = window.New(ar.Rule, d.cfg.WindowLimits)
		p.setWindow(ar, ws)
	}
	// The generation, not Stats: comparing those read a cold line of every state an
	// event went to (a tenth of the CPU of 500 windowed rules).
	gen := ws.StatsGen()
	// The name aliases the fetch buffer: a state that keeps it copies it.
	ws.Add(&window.Event{Customer: ev.Customer, Doc: ev.Doc, Time: ev.Time, Shared: &p.shared, Offset: ev.Offset}, func(c window.Crossing) {
		d.raise(b, ev, ar, c)
	})
	if ws.StatsGen() != gen {
		before, after := ws.TakeStats()
		d.m.windowStats(ar.Key.String(), before, after)
	}
}

// raise publishes the alert for crossing c of ar, raised by ev.
func (d *Daemon) raise(b *ingest.Batch, ev *ingest.Event, ar *controls.Version, c window.Crossing) {
	rec, err := d.alertRecord(ar, c, ev.Partition, ev.Offset, ev.Time, contract.SourceLive)
	if c.Resolved {
		d.countAlerts(0, 1)
	} else {
		d.countAlerts(1, 0)
	}
	if err != nil {
		b.DeadLetterFor(ev, rec, err)
		return
	}
	b.Emit(ev, rec)
}

// countAlerts counts alert records handed on (to the producer, or as dead letters):
// firings are alerts raised (hindsight_alerts_total, /healthz alerts); a resolved
// record ends an alert a firing raised, so resolves are counted apart
// (hindsight_alerts_resolved_total), not as second alerts.
func (d *Daemon) countAlerts(firings, resolves int) {
	if firings > 0 {
		d.m.alerts.Add(float64(firings))
		d.alertsRaised.Add(int64(firings))
	}
	if resolves > 0 {
		d.m.alertsResolved.Add(float64(resolves))
	}
}

// keptAlert is alertRecord's record, or its dead letter when it is over
// --alert-max-bytes: for alerts produced outside an events batch.
func (d *Daemon) keptAlert(ar *controls.Version, c window.Crossing, partition int32, offset int64, at time.Time, source string) *kgo.Record {
	rec, err := d.alertRecord(ar, c, partition, offset, at, source)
	if err != nil {
		return d.reroute.DeadLetter(rec, err)
	}
	return rec
}

// alertRecord is the alerts-topic record of crossing c of ar, raised by the event at
// partition and offset, of record time at. An alert over --alert-max-bytes has its
// context, then group, values cut (contract.Alert.CutToFit); one still over is
// returned with an error wrapping ingest.ErrOverLimit, for the dead-letter topic.
func (d *Daemon) alertRecord(ar *controls.Version, c window.Crossing, partition int32, offset int64, at time.Time, source string) (*kgo.Record, error) {
	a, err := window.Alert(ar.Rule, c, partition, offset, at, source)
	if err != nil {
		// The key was made by this build a moment ago; it always decodes.
		panic(fmt.Sprintf("live: alert of rule %s: %v", ar.Key, err))
	}
	// Mutes are in wall-clock time: they are about who is told now, not about history.
	a.Muted = d.rules.Muted(ar.Rule.ID, c.Customer, time.Now()) != nil
	// Key and value share one allocation.
	buf := append(make([]byte, 0, len(c.Customer)+320), c.Customer...)
	buf = a.AppendJSON(buf)
	n := len(c.Customer)
	rec := &kgo.Record{Topic: d.cfg.Topics.Alerts, Key: buf[:n:n], Value: buf[n:]}
	if ingest.RecordBytes(rec) <= d.cfg.AlertMaxBytes {
		return rec, nil
	}
	d.m.limits.Reached(limitAlertBytes)
	whole := ingest.RecordBytes(rec)
	var fits bool
	rec.Value, fits = a.CutToFit(d.cfg.AlertMaxBytes, func(v []byte) int {
		return ingest.RecordBytes(&kgo.Record{Key: rec.Key, Value: v})
	})
	d.log.Warn("an alert over --alert-max-bytes was cut", "rule", ar.Key.String(), "alert_id", a.AlertID, "customer_bytes", len(c.Customer),
		"bytes", whole, "context_cut", a.ContextCut, "group_cut", a.GroupCut, "fits", fits)
	if !fits {
		// What is left is the customer id (a few hundred KB of it): its dead letter
		// holds the alert without it, the record key holding it once, so that the value
		// is the alert, whole, naming the event that raised it.
		n := ingest.RecordBytes(rec)
		a.Customer = ""
		rec.Value = a.AppendJSON(nil)
		return rec, fmt.Errorf("alert of %d bytes is over --alert-max-bytes %d with its context and group values cut; its customer field is left empty, the record key holds the customer id (%d bytes): %w",
			n, d.cfg.AlertMaxBytes, len(c.Customer), ingest.ErrOverLimit)
	}
	return rec, nil
}
