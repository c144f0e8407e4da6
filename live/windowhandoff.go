package live

import (
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// The hand-off of a rule kept per group and window (docs/architecture.md, "The
// hand-off"). Its state is not a sum: what history leaves (open windows, the
// watermark) decides what later events do. So, where a running total counts live from
// its start offset S while a job counts below it, a windowed version does not evaluate
// events while its history is computed: it buffers the events it matched, from the
// buffer's first offset B (S, or the resume offset of a partition restored while the
// job was pending). The job replays the partition's history below B through the live
// evaluator's code (backtest.PartitionState: the lake, then Kafka) and returns the state
// there and the crossings of its events. Under the partition's lock, the state is
// installed and the buffered events go through it, in offset order: the state is then
// exactly that of an uninterrupted run. The crossings at offsets ≥ S, the job's and the
// buffer's, are the version's alerts, produced once the lock is released; those below
// S are history, sent only if the rule says backfill: {alert: true} (source
// "backfill"). Alerts sent again after a restart have the same alert_id.
//
// A buffer is bounded (Config.HandoffBufferBytes), and so are all together
// (Config.HandoffBuffersBytes): beyond either the version gives up its history, starts
// from the event at hand, and says so in its rule view (incomplete, status error) and
// in hindsight_limit_reached_total.

// DefaultHandoffBufferBytes is Config.HandoffBufferBytes's default.
const DefaultHandoffBufferBytes = 64 << 20

// DefaultHandoffBuffersBytes is Config.HandoffBuffersBytes's default.
const DefaultHandoffBuffersBytes = 512 << 20

// handoffBuffer is the events a windowed version matched since offset from.
type handoffBuffer struct {
	from   int64
	events []bufferedEvent
	bytes  int64
}

type bufferedEvent struct {
	offset   int64
	customer string
	value    []byte
	time     time.Time
}

// bufferedEventOverhead is what an event costs a buffer beyond its customer and value.
const bufferedEventOverhead = 64

// startWindowHandoff queues the job of windowed version ar in partition p: its history
// below end, owing the crossings from start, with events buffered from end. The caller
// holds the partition's lock.
func (d *Daemon) startWindowHandoff(p *partition, ar *controls.Version, start, end int64, recount bool) {
	p.buffers[ar] = &handoffBuffer{from: end}   // before the job, which takes it
	d.startBackfill(p, ar, start, end, recount) // set before the job runs, which reads it
}

// bufferWindowed keeps ev, which windowed version ar matched while its history is
// computed. The caller holds the partition's lock.
func (d *Daemon) bufferWindowed(p *partition, b *ingest.Batch, h *handoffBuffer, ev *ingest.Event, ar *controls.Version) {
	cost := int64(len(ev.Customer)+len(ev.Record.Value)) + bufferedEventOverhead
	if h.bytes+cost > d.cfg.HandoffBufferBytes {
		d.abandonHandoff(p, ar, ev.Offset, limitHandoffBuffer, d.cfg.HandoffBufferBytes)
		d.evalWindowed(p, b, ev, ar, nil)
		return
	}
	// Added, then taken back if over: partitions buffer at once, each under its own
	// lock, and a check before the add would let two pass the bound together.
	if d.handoffBuffered.Add(cost) > d.cfg.HandoffBuffersBytes {
		d.handoffBuffered.Add(-cost)
		d.abandonHandoff(p, ar, ev.Offset, limitHandoffBuffers, d.cfg.HandoffBuffersBytes)
		d.evalWindowed(p, b, ev, ar, nil)
		return
	}
	h.bytes += cost
	h.events = append(h.events, bufferedEvent{offset: ev.Offset, customer: strings.Clone(ev.Customer), // ev's aliases the fetch
		value: append([]byte(nil), ev.Record.Value...), time: ev.Time})
}

// abandonHandoff gives up ar's history in p at offset: the job is cancelled, the
// buffer dropped, and the version counts from offset, its history below marked
// missing, for the limit (its name and bytes) the buffer reached. The caller holds the
// partition's lock.
func (d *Daemon) abandonHandoff(p *partition, ar *controls.Version, offset int64, limit string, limitBytes int64) {
	if pb := p.pending[ar]; pb != nil {
		d.cancelJob(ar, pb)
		delete(p.pending, ar)
	}
	d.dropBuffer(p, ar)
	p.setWindow(ar, window.New(ar.Rule, d.cfg.WindowLimits))
	what := "the hand-off buffer"
	if limit == limitHandoffBuffers {
		what = "the hand-off buffers of every rule together"
	}
	p.incomplete[ar] = []contract.MissingRange{{Partition: p.id, From: 0, To: offset - 1,
		Reason: fmt.Sprintf("%s reached %d bytes (limit %s): history and the events buffered meanwhile are not counted", what, limitBytes, limit)}}
	p.gen++
	d.m.limits.Reached(limit)
	d.log.Warn("hand-off buffer full: a windowed rule starts without its history", "rule", ar.Key.String(),
		"version", ar.Rule.Version, "partition", p.id, "offset", offset, "limit", limit, "limit_bytes", limitBytes)
}

// dropBuffer removes ar's hand-off buffer from p, if it has one, and returns it; its
// bytes leave the daemon's sum. The caller holds the partition's lock.
func (d *Daemon) dropBuffer(p *partition, ar *controls.Version) *handoffBuffer {
	h := p.buffers[ar]
	if h != nil {
		d.handoffBuffered.Add(-h.bytes)
		delete(p.buffers, ar)
	}
	return h
}

// DefaultMaxHistoryAlerts is Config.MaxHistoryAlerts' default.
const DefaultMaxHistoryAlerts = 10_000

// DefaultMaxHistoryDays is Config.MaxHistoryDays' default, a backtest's (--max-days).
const DefaultMaxHistoryDays = contract.DefaultMaxDays

// pastCrossing is a crossing of an event the job read, with that event's place;
// history's is below the version's start (sent only with backfill.alert).
type pastCrossing struct {
	offset  int64
	at      time.Time
	c       window.Crossing
	history bool
}

// historyOf is the replay configuration of version ar's history in a partition where
// it starts at start: back as far as its lookback below start, as a plain count's
// backfill counts.
func (d *Daemon) historyOf(ar *controls.Version, start int64) backtest.Config {
	cfg := d.bf.history
	if r := ar.Rule; r.Lookback > 0 {
		cfg.Since, cfg.SinceBelow = r.HistoryFrom(ar.UpdatedAt), start
	}
	return cfg
}

// runWindowJob makes one attempt at windowed job j, as runJob does for counts.
func (d *Daemon) runWindowJob(j *handoffJob) {
	pid, ar, pb := j.p.id, j.ar, j.pb
	pb.attempts.Add(1)
	var crossings []pastCrossing
	historyAlerts := ar.Rule.Backfill != nil && ar.Rule.Backfill.Alert
	hist := &partHistory{alerted: historyAlerts, days: contract.DayCounts{Max: max(d.cfg.MaxHistoryDays, 0)}}
	cfg := d.historyOf(ar, pb.start)
	// pb.end, where the buffer starts, is where the partition was read up to (or the
	// resume offset of a snapshot's process, which read it): a Kafka listing behind it
	// is retried, as a plain count's hand-off's is (backfill.Job.StartRead), not taken
	// for the end of history and a state cut short installed.
	cfg.EndRead = true
	began := time.Now()
	cfg.Progress = func(read, _ int64) {
		pb.progress.Store(&backfill.Progress{RowsScanned: read, Elapsed: time.Since(began)})
	}
	// The incidents history opens whose alerts are held back are silent: their resolves
	// are held back too, in the job and, for those still open, in the state.
	if !historyAlerts && !pb.recount {
		cfg.SilentBelow = pb.start
	}
	// History sends at most MaxHistoryAlerts firings, an event's all or none; the
	// replay makes later history's incidents silent (backtest.Config.MaxAlertsBelow),
	// but in a recount: there history holds firings an earlier owner sent live, whose
	// incidents must resolve as they close (a review's TestHistoryAlertsBoundKeepsRecountResolves).
	var sent, maxSent int
	var full bool
	lastOffset := int64(-1)
	if historyAlerts && d.cfg.MaxHistoryAlerts > 0 {
		maxSent = d.cfg.MaxHistoryAlerts
		if !pb.recount {
			cfg.AlertsBelow, cfg.MaxAlertsBelow = pb.start, maxSent
		}
	}
	h, err := backtest.PartitionState(j.ctx, cfg, ar.Rule, pid, pb.end, func(offset int64, at time.Time, c window.Crossing) {
		history := offset < pb.start
		if history && !c.Resolved {
			hist.fired(at)
			if maxSent > 0 {
				if offset != lastOffset {
					lastOffset, full = offset, sent >= maxSent
				}
				if full {
					hist.alertsCut++
					return
				}
				sent++
			}
		}
		if !history || historyAlerts {
			c.Group = append([]byte(nil), c.Group...)
			c.Samples = append([]int64(nil), c.Samples...)
			crossings = append(crossings, pastCrossing{offset: offset, at: at, c: c, history: history})
		}
	})
	if err != nil {
		d.failedAttempt(j, err, retryCannotCure(err))
		return
	}
	d.m.backfillsRunning.Dec()
	pb.cancel()
	if hist.alertsCut > 0 {
		d.m.limits.Count(limitHistoryAlerts).Add(float64(hist.alertsCut))
		d.log.Warn("a rule's history raised more firings than --max-history-alerts: the rest are not sent (the rule's history says how many: alerts_cut)",
			"rule", ar.Key.String(), "version", ar.Rule.Version, "partition", pid, "sent", sent, "cut", hist.alertsCut)
	}
	// Trimmed here, once, so that the rule views read the days and change nothing.
	if cut := hist.days.Cut(); cut > 0 {
		d.m.limits.Count(limitHistoryDays).Add(float64(cut))
	}
	hist.matches, hist.heldFrom = h.Matches, h.HeldFrom
	d.historyCutShort(pid, ar, int64(h.EvalCutShort))
	d.applyWindowHandoff(j.p, ar, pb, h.State, h.Missing, crossings, hist)
}

// applyWindowHandoff installs st, ar's state below the buffer of p, runs the buffered
// events through it, and produces the alerts owed: the job's crossings (from
// pb.start) and the buffer's. They are produced under p's lock, through the client
// live's alerts go through (produceInOrder): the next event may close an incident
// they open, and its resolve must follow its firing on the topic (a firing through
// the daemon's other client once came after it).
func (d *Daemon) applyWindowHandoff(p *partition, ar *controls.Version, pb *pendingBackfill, st *window.State, missing []contract.MissingRange, past []pastCrossing, hist *partHistory) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.revoked || p.closing || p.pending[ar] != pb {
		return // revoked or closing (the next owner computes it), replaced, or given up
	}
	buf := d.dropBuffer(p, ar)
	delete(p.pending, ar)
	p.history[ar] = hist
	if len(missing) > 0 {
		p.incomplete[ar] = missing
		d.log.Warn("windowed history incomplete: offsets neither the lake nor Kafka holds are not counted",
			"rule", ar.Key.String(), "version", ar.Rule.Version, "partition", p.id, "missing", missing)
	} else {
		delete(p.incomplete, ar)
	}
	doc := jsonpath.NewDocument()
	for _, e := range buf.events {
		if err := doc.Reset(e.value); err != nil {
			// It was parsed when it came: it parses again.
			panic(fmt.Sprintf("live: a buffered event at offset %d no longer parses: %v", e.offset, err))
		}
		st.Add(&window.Event{Customer: e.customer, Doc: doc, Time: e.time, Offset: e.offset}, func(c window.Crossing) {
			c.Group = append([]byte(nil), c.Group...)
			c.Samples = append([]int64(nil), c.Samples...)
			past = append(past, pastCrossing{offset: e.offset, at: e.time, c: c})
		})
		// Its group, aggregate and time paths ran here, on this document.
		if n := doc.BudgetExceeded(); n > 0 {
			d.evalCutShort(p.id, e.offset, n)
		}
	}
	p.setWindow(ar, st)
	d.m.windowStats(ar.Key.String(), window.Stats{}, st.Stats())
	st.TakeStats() // counted: eval publishes what changes from here
	p.gen++
	var alerts []*kgo.Record
	resolves := 0
	for _, x := range past {
		source := contract.SourceLive
		if x.history {
			source = contract.SourceBackfill
		}
		if x.c.Resolved {
			resolves++
		}
		alerts = append(alerts, d.keptAlert(ar, x.c, p.id, x.offset, x.at, source))
	}
	d.produceInOrder(p, alerts, resolves)
	d.m.backfillsDone.Inc()
	d.log.Info("windowed hand-off complete", "rule", ar.Key.String(), "version", ar.Rule.Version, "partition", p.id,
		"start", pb.start, "buffered", len(buf.events), "groups", st.GroupCount(), "windows", st.WindowCount(), "alerts", len(alerts))
}
