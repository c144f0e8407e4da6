package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// The windowed part of RunEval. The live daemon's evaluator (live.Daemon.HandleBatch)
// cannot be driven from here: it takes an ingest.Batch, which only the ingest consumer
// builds, and keeps its state in unexported partitions. So the windowed figures come
// from window.Replay, the evaluator `rules test` and the console's preview run "as the
// live evaluator does": the same rule.Set matcher over the same jsonpath.Document, then
// a window.State per rule that is not a plain count (the very code live's evalWindowed
// calls) and a running count per customer for a plain one. The plain count is the one
// difference: live keeps it in its compact counter store, Replay in a map of maps,
// which costs more per match, so the plain run is somewhat slower than live's would be
// and the windowed ÷ plain ratio somewhat kinder than live's. (The index run, matching
// alone, bounds it the other way: no plain count costs less than nothing.)

// WindowedEval is what RunEval measured of windowed and grouped rules.
type WindowedEval struct {
	// Rules is how many of the rules were windowed and grouped in the windowed run
	// (workload.RulesConfig.WindowedPercent); MatchesPerEvent and
	// WindowedMatchesPerEvent are the rules, and the windowed rules among them, that
	// matched an event, on average over the events (both sets match alike).
	Rules                                    int
	MatchesPerEvent, WindowedMatchesPerEvent float64
	// Plain is the rules, all plain running counts, through window.Replay; Windowed the
	// same rules with Rules of them windowed and grouped. Both are timed in the same
	// slices as the index and the baseline. Their Matches count alerts (crossings), each
	// built and encoded as live raises it: Replay does not say which rules matched.
	// Re-stamping the events' times each lap (eventRing) is not in their figures.
	Plain, Windowed EvalRun
	// StateEvents events through window.State alone (a separate, untimed pass over the
	// same events with the windowed rules only, since the live daemon's partitions are
	// out of reach) left Groups open groups and Cells open (group, window) cells in
	// StateBytes bytes of live heap (liveHeap): the windowed rules' whole state, maps
	// and keys included.
	StateEvents   int
	StateBytes    int64
	Groups, Cells int
}

// HighCardEval is the high-cardinality run: one rule grouped by a path whose every
// value is new ($.id), fed Offered events, with the group limit Limit.
type HighCardEval struct {
	Offered int
	Limit   int
	// Groups is how many groups the state kept, Dropped how many contributions to new
	// groups it refused, Degraded why its figures are lower bounds.
	Groups   int
	Dropped  uint64
	Degraded string
	// HeapBytes is the live heap the state holds (liveHeap); RSSBytes the whole
	// process's resident set after the run (0 where /proc is missing), all of eval's
	// runs before it included.
	HeapBytes int64
	RSSBytes  int64
	Elapsed   time.Duration
}

// eventRing is one step's own copy of the events, evaluated round and round as RunEval
// does, on a timeline of its own that moves forward by a whole lap each time round: a
// windowed rule must see event time advance as a live stream does, or from the second
// lap on every event would be late and cost nothing. A lap spans lap of event time
// (RunEval: the longest window of the rules), so that an event recurs about once per
// window, as one actor matches one rule a few times in ten minutes at most: with the
// generator's own 10 ms apart, a ring of 4,096 events would bring each group back
// every 41 s, every (group, window) would pass its threshold, and alerts would
// outnumber events. Sparse groups are also the dearer case: most contributions open a
// group or a window rather than add to one. The
// record time and the events' "time" field (a path generated rules may take) say the
// same time, written with milliseconds, always 24 bytes, so that re-stamping rewrites
// it in place.
type eventRing struct {
	customers []string
	data      [][]byte
	times     []time.Time // on lap 0
	at        []int       // where each event's "time" text is
	shift     time.Duration
	lap       int
	buf       []byte
	restamp   time.Duration // spent re-stamping, taken out of the step's figures
}

// ringTimeLayout is RFC 3339 with a fixed three-digit fraction: 24 bytes in UTC.
const ringTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func newEventRing(events []workload.Event, lap time.Duration) (*eventRing, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("bench: no events")
	}
	step := max((lap / time.Duration(len(events))).Truncate(time.Millisecond), time.Millisecond)
	base := events[0].Time.Truncate(time.Second).UTC()
	r := &eventRing{shift: step * time.Duration(len(events))}
	const field = `"time":"`
	for i, ev := range events {
		r.buf = ev.Time.AppendFormat(r.buf[:0], time.RFC3339Nano)
		at := bytes.Index(ev.JSON, []byte(field))
		if at < 0 || !bytes.HasPrefix(ev.JSON[at+len(field):], r.buf) {
			return nil, fmt.Errorf("bench: event %d has no \"time\" field holding its record time %s", i, r.buf)
		}
		at += len(field)
		t := base.Add(time.Duration(i) * step)
		data := append([]byte(nil), ev.JSON[:at]...)
		data = t.AppendFormat(data, ringTimeLayout)
		data = append(data, ev.JSON[at+len(r.buf):]...)
		r.customers = append(r.customers, ev.Customer)
		r.data = append(r.data, data)
		r.times = append(r.times, t)
		r.at = append(r.at, at)
	}
	return r, nil
}

// event is the i-th event of the ring, on lap i/len.
func (r *eventRing) event(i int) (customer string, data []byte, t time.Time, err error) {
	n := len(r.data)
	j, lap := i%n, i/n
	if lap != r.lap {
		if err := r.restampTo(lap); err != nil {
			return "", nil, time.Time{}, err
		}
	}
	return r.customers[j], r.data[j], r.times[j].Add(time.Duration(lap) * r.shift), nil
}

func (r *eventRing) restampTo(lap int) error {
	t0 := time.Now()
	d := time.Duration(lap) * r.shift
	for j, data := range r.data {
		r.buf = r.times[j].Add(d).AppendFormat(r.buf[:0], ringTimeLayout)
		if len(r.buf) != len(ringTimeLayout)-len("Z07:00")+1 {
			return fmt.Errorf("bench: event %d re-stamped for lap %d is %s, not 24 bytes", j, lap, r.buf)
		}
		copy(data[r.at[j]:], r.buf)
	}
	r.lap = lap
	r.restamp += time.Since(t0)
	return nil
}

// replayStep is an interleave step that evaluates the ring's i-th event with replay,
// building and encoding each crossing's alert as live's raise does; it returns the
// number of alerts.
func replayStep(replay *window.Replay, ring *eventRing) func(i int) (int, error) {
	doc := jsonpath.NewDocument()
	var res []window.Result
	return func(i int) (int, error) {
		customer, data, t, err := ring.event(i)
		if err != nil {
			return 0, err
		}
		if err := doc.Reset(data); err != nil {
			return 0, err
		}
		res = replay.Add(int64(i), customer, doc, t, res[:0])
		for _, x := range res {
			a, err := window.Alert(x.Rule, x.Crossing, 0, int64(i), t, contract.SourceLive)
			if err != nil {
				return 0, err
			}
			// Live hands the buffer to the producer, so it allocates one per alert too.
			buf := append(make([]byte, 0, len(customer)+320), customer...)
			_ = a.AppendJSON(buf)
		}
		return len(res), nil
	}
}

// windowedBench is the windowed part of one RunEval: the plain and windowed replays
// timed with the other evaluators, then the state and high-cardinality passes.
type windowedBench struct {
	cfg                     EvalConfig
	lim                     window.Limits
	events                  []workload.Event
	wrules                  []*rule.Rule
	lap                     time.Duration // the longest window: a lap of the rings
	plainRing, windowedRing *eventRing
	plainStep, windowedStep func(i int) (int, error)
	windowedReplay          *window.Replay
	rep                     *WindowedEval
}

func newWindowedBench(cfg EvalConfig, set *rule.Set, events []workload.Event) (*windowedBench, error) {
	wrules := workload.Rules(cfg.Seed, cfg.Rules, workload.RulesConfig{Customers: cfg.Customers, WindowedPercent: cfg.WindowedPercent})
	wset, err := rule.NewSet(wrules)
	if err != nil {
		return nil, fmt.Errorf("bench: indexing windowed rules: %w", err)
	}
	b := &windowedBench{cfg: cfg, lim: window.Limits{MaxGroups: int64(cfg.GroupLimit)}, events: events, wrules: wrules,
		rep: &WindowedEval{}}
	for _, r := range wrules {
		if !r.Plain() {
			b.rep.Rules++
		}
		if r.Window != nil {
			b.lap = max(b.lap, time.Duration(r.Window.Size))
		}
	}
	// The two sets must match alike, or the ratio compares different matches.
	pm, wm, doc := set.NewMatcher(), wset.NewMatcher(), jsonpath.NewDocument()
	var got, want []*rule.Rule
	matches, windowedMatches := 0, 0
	for i, ev := range events {
		if err := doc.Reset(ev.JSON); err != nil {
			return nil, fmt.Errorf("bench: event %d: %w", i, err)
		}
		want, got = pm.Match(ev.Customer, doc, want[:0]), wm.Match(ev.Customer, doc, got[:0])
		if pk, wk := ruleKeys(want), ruleKeys(got); !slices.Equal(pk, wk) {
			return nil, fmt.Errorf("bench: plain and windowed rules disagree on event %d: %v, %v", i, pk, wk)
		}
		matches += len(got)
		for _, r := range got {
			if !r.Plain() {
				windowedMatches++
			}
		}
	}
	b.rep.MatchesPerEvent = float64(matches) / float64(len(events))
	b.rep.WindowedMatchesPerEvent = float64(windowedMatches) / float64(len(events))

	if b.plainRing, err = newEventRing(events, b.lap); err != nil {
		return nil, err
	}
	if b.windowedRing, err = newEventRing(events, b.lap); err != nil {
		return nil, err
	}
	b.plainStep = replayStep(window.NewReplay(set, b.lim), b.plainRing)
	b.windowedReplay = window.NewReplay(wset, b.lim)
	b.windowedStep = replayStep(b.windowedReplay, b.windowedRing)
	return b, nil
}

// finish takes the timed runs of the two replays, checks that the windowed rules
// counted what they were given, and measures their state in a pass of its own.
func (b *windowedBench) finish(ctx context.Context, plain, windowed EvalRun) (*WindowedEval, error) {
	b.rep.Plain = withoutRestamp(plain, b.plainRing.restamp)
	b.rep.Windowed = withoutRestamp(windowed, b.windowedRing.restamp)
	for _, r := range b.wrules {
		if r.Plain() {
			continue
		}
		// A late event, one without a time or one refused at the group limit is not
		// counted and costs next to nothing: any would flatter the windowed figures.
		if st := b.windowedReplay.State(r).Stats(); st.Late > 0 || st.TimeErrors > 0 || st.GroupsDropped > 0 {
			return nil, fmt.Errorf("bench: windowed rule %s: %+v: the run did not count every event it was given", r.ID, st)
		}
	}
	b.windowedReplay = nil // its state is not the one measured below
	if err := b.measureState(ctx); err != nil {
		return nil, err
	}
	return b.rep, nil
}

// withoutRestamp is run without the time its ring spent re-stamping events.
func withoutRestamp(run EvalRun, restamp time.Duration) EvalRun {
	run.Elapsed -= restamp
	run.CPU = max(run.CPU-restamp, 0)
	run.EventsPerS = float64(run.Events) / run.Elapsed.Seconds()
	return run
}

// measureState runs the events through the windowed rules alone, for over twice the
// longest window of event time (so that windows have opened and closed as in a steady
// stream), and measures the heap their state holds.
func (b *windowedBench) measureState(ctx context.Context) error {
	var only []*rule.Rule
	for _, r := range b.wrules {
		if !r.Plain() {
			only = append(only, r)
		}
	}
	set, err := rule.NewSet(only)
	if err != nil {
		return fmt.Errorf("bench: indexing windowed rules: %w", err)
	}
	ring, err := newEventRing(b.events, b.lap)
	if err != nil {
		return err
	}
	laps := int(2*b.lap/ring.shift) + 2
	n := laps * len(b.events)
	replay, doc := window.NewReplay(set, b.lim), jsonpath.NewDocument()
	var res []window.Result
	// Warm the document's buffers, so that the heap measured is the state's.
	if err := doc.Reset(ring.data[0]); err != nil {
		return err
	}
	before := liveHeap()
	for i := range n {
		if i%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		customer, data, t, err := ring.event(i)
		if err != nil {
			return err
		}
		if err := doc.Reset(data); err != nil {
			return fmt.Errorf("bench: event %d: %w", i%len(b.events), err)
		}
		res = replay.Add(int64(i), customer, doc, t, res[:0])
	}
	after := liveHeap()
	b.rep.StateEvents = n
	b.rep.StateBytes = max(after-before, 0)
	for _, r := range only {
		st := replay.State(r)
		b.rep.Groups += st.GroupCount()
		b.rep.Cells += st.WindowCount()
	}
	// What was live before the pass stays live through the second reading, or its
	// freeing would hide the state.
	runtime.KeepAlive(replay)
	runtime.KeepAlive(ring)
	runtime.KeepAlive(doc)
	return nil
}

// liveHeap is the heap in use by live objects, after a collection. Not HeapInuse,
// which counts whole spans: new state fills the free slots that the earlier runs'
// garbage left in spans still in use, and a difference of HeapInuse misses it.
//
// Two collections: the first moves sync.Pool contents to their victim caches, where
// they stay live, and only the second frees them; else the pools' garbage of earlier
// runs, freed during the measurement, would hide the state.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// maxHighCardGroups is the most events the high-cardinality run can give: a
// millisecond apart, they stay within its rule's day.
const maxHighCardGroups = int(24*time.Hour/time.Millisecond) - 1

// runHighCard feeds one rule, grouped by the events' id, cfg.HighCardGroups events:
// the eval events round and round, each time with a new id (rewritten in place, so
// that the run costs the state's work and the parse, not the generator's), hence that
// many distinct groups against the group limit. The window is a day, which the events,
// a millisecond apart, stay within: no group closes, so only the limit holds them back.
func runHighCard(ctx context.Context, cfg EvalConfig, events []workload.Event) (*HighCardEval, error) {
	r := &rule.Rule{ID: "high-cardinality", Scope: rule.GlobalScope, Version: 1, Name: "events per id and day",
		When:    &rule.Condition{Path: "$.id", Op: rule.OpExists},
		GroupBy: []string{"$.id"}, Window: &rule.Window{Size: rule.Duration(24 * time.Hour)},
		Threshold: rule.AtLeast(2)}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("bench: high-cardinality rule: %w", err)
	}
	const field, width = `"id":"`, 8 // digits: maxHighCardGroups < 10^8
	data := make([][]byte, len(events))
	at := make([]int, len(events))
	for i, ev := range events {
		j := bytes.Index(ev.JSON, []byte(field))
		end := -1
		if j >= 0 {
			j += len(field)
			end = bytes.IndexByte(ev.JSON[j:], '"')
		}
		if end < 0 {
			return nil, fmt.Errorf("bench: event %d has no id", i)
		}
		d := append([]byte(nil), ev.JSON[:j]...)
		d = append(d, "hc-"...)
		at[i] = len(d)
		d = append(d, bytes.Repeat([]byte("0"), width)...)
		data[i] = append(d, ev.JSON[j+end:]...)
	}
	base := events[0].Time.Truncate(24 * time.Hour)
	doc := jsonpath.NewDocument()
	if err := doc.Reset(data[0]); err != nil { // its buffers are not the state's
		return nil, err
	}
	h := &HighCardEval{Offered: cfg.HighCardGroups, Limit: cfg.GroupLimit}
	before := liveHeap()
	st := window.New(r, window.Limits{MaxGroups: int64(cfg.GroupLimit)})
	crossings := 0
	t0 := time.Now()
	for i := range cfg.HighCardGroups {
		if i%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		k := i % len(data)
		id := data[k][at[k] : at[k]+width]
		for n, p := i, width-1; p >= 0; n, p = n/10, p-1 {
			id[p] = byte('0' + n%10)
		}
		if err := doc.Reset(data[k]); err != nil {
			return nil, fmt.Errorf("bench: high-cardinality event %d: %w", i, err)
		}
		t := base.Add(time.Duration(i) * time.Millisecond)
		st.Add(&window.Event{Customer: events[k].Customer, Doc: doc, Time: t}, func(window.Crossing) { crossings++ })
	}
	h.Elapsed = time.Since(t0)
	h.HeapBytes = max(liveHeap()-before, 0)
	h.RSSBytes = residentBytes()
	h.Groups, h.Dropped, h.Degraded = st.GroupCount(), st.Stats().GroupsDropped, st.Degraded()
	// What was live before the run stays live through the second reading, or its
	// freeing would hide the state.
	runtime.KeepAlive(st)
	runtime.KeepAlive(data)
	runtime.KeepAlive(doc)
	runtime.KeepAlive(events)
	// Every event is a group of its own: the state keeps the first Limit and refuses
	// every later one, and says so.
	wantKept := min(h.Offered, h.Limit)
	if h.Groups != wantKept || h.Dropped != uint64(h.Offered-wantKept) || (h.Dropped > 0) != (h.Degraded != "") || crossings != 0 {
		return nil, fmt.Errorf("bench: high cardinality: %d groups offered against a limit of %d: kept %d, dropped %d, degraded %q, %d crossings",
			h.Offered, h.Limit, h.Groups, h.Dropped, h.Degraded, crossings)
	}
	return h, nil
}

// residentBytes is this process's resident set size (VmRSS), 0 where /proc is missing.
func residentBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// windowedResult adds the windowed and high-cardinality figures to res. None is
// gated: their ratio is new and has no history of how much it moves between runs on a
// shared machine; the gate (Gate, make bench-ci) checks only what it always did.
func (r *EvalReport) windowedResult(res *Result) {
	c := r.Config
	if w := r.Windowed; w != nil {
		res.Params["windowed_percent"] = strconv.Itoa(c.WindowedPercent)
		res.Params["group_limit"] = strconv.Itoa(c.GroupLimit)
		pl, wi := w.Plain, w.Windowed
		per := func(x EvalRun, v float64) float64 { return v / float64(x.Events) }
		pct := fmt.Sprintf("%d%% windowed", c.WindowedPercent)
		res.Metrics = append(res.Metrics,
			Metric{Name: "windowed matches per event", Unit: "rules", Value: w.WindowedMatchesPerEvent},
			Metric{Name: "plain counts (Replay): per event", Unit: "ns", Value: per(pl, float64(pl.Elapsed.Nanoseconds()))},
			Metric{Name: pct + " (Replay): per event", Unit: "ns", Value: per(wi, float64(wi.Elapsed.Nanoseconds()))},
			Metric{Name: "plain counts (Replay): CPU per event", Unit: "ns", Value: per(pl, float64(pl.CPU.Nanoseconds()))},
			Metric{Name: pct + " (Replay): CPU per event", Unit: "ns", Value: per(wi, float64(wi.CPU.Nanoseconds()))},
			Metric{Name: "plain counts (Replay): allocated per event", Unit: "bytes", Value: per(pl, float64(pl.AllocBytes))},
			Metric{Name: pct + " (Replay): allocated per event", Unit: "bytes", Value: per(wi, float64(wi.AllocBytes))},
			Metric{Name: "plain counts (Replay): alerts per 1,000 events", Unit: "alerts", Value: 1000 * per(pl, float64(pl.Matches))},
			Metric{Name: pct + " (Replay): alerts per 1,000 events", Unit: "alerts", Value: 1000 * per(wi, float64(wi.Matches))},
			Metric{Name: "state per (group, window), window.State pass", Unit: "bytes", Value: float64(w.StateBytes) / float64(max(w.Cells, 1)),
				Target: "≤ 64 for count, sum, min, max, avg"},
			Metric{Name: "state per group, window.State pass", Unit: "bytes", Value: float64(w.StateBytes) / float64(max(w.Groups, 1))},
			Metric{Name: "open (group, window) cells, window.State pass", Unit: "cells", Value: float64(w.Cells)},
			Metric{Name: "open groups, window.State pass", Unit: "groups", Value: float64(w.Groups)},
		)
		// CPU beside wall time: on a 2-core machine the collector marks the windowed
		// state on the other core, which CPU time counts and wall time may not.
		res.Ratios = append(res.Ratios,
			Ratio{Name: "windowed ÷ plain, time per event", Better: LowerIsBetter, Target: "≤ 1.5",
				Value: (float64(wi.Elapsed) / float64(wi.Events)) / (float64(pl.Elapsed) / float64(pl.Events))})
		// The re-stamping is timed on the wall clock and taken off the CPU too: on a
		// tiny run under load (the test suite's) it can take a run's CPU to nothing,
		// and a ratio over nothing is no figure (nor JSON).
		if pl.CPU > 0 && wi.CPU > 0 {
			res.Ratios = append(res.Ratios, Ratio{Name: "windowed ÷ plain, CPU per event", Better: LowerIsBetter,
				Value: (float64(wi.CPU) / float64(wi.Events)) / (float64(pl.CPU) / float64(pl.Events))})
		}
		res.Throughput = append(res.Throughput,
			Series{Name: "eval: plain counts", Step: Duration(sampleStep), Values: pl.PerInterval},
			Series{Name: "eval: " + pct, Step: Duration(sampleStep), Values: wi.PerInterval})
	}
	if h := r.HighCard; h != nil {
		res.Params["high_card_groups"] = strconv.Itoa(h.Offered)
		res.Params["group_limit"] = strconv.Itoa(h.Limit)
		res.Metrics = append(res.Metrics,
			Metric{Name: "high cardinality: groups offered", Unit: "groups", Value: float64(h.Offered)},
			Metric{Name: "high cardinality: groups kept", Unit: "groups", Value: float64(h.Groups), Target: "≤ " + Num(float64(h.Limit)) + " (the limit)"},
			Metric{Name: "high cardinality: contributions dropped", Unit: "events", Value: float64(h.Dropped)},
			Metric{Name: "high cardinality: state degraded", Unit: "1 yes, 0 no", Value: boolFigure(h.Degraded != "")},
			Metric{Name: "high cardinality: state, live heap", Unit: "bytes", Value: float64(h.HeapBytes)},
			Metric{Name: "high cardinality: heap per kept group", Unit: "bytes", Value: float64(h.HeapBytes) / float64(max(h.Groups, 1))},
			Metric{Name: "high cardinality: time per event (parse included)", Unit: "ns", Value: float64(h.Elapsed.Nanoseconds()) / float64(h.Offered)},
		)
		if h.RSSBytes > 0 {
			res.Metrics = append(res.Metrics, Metric{Name: "high cardinality: process RSS after", Unit: "bytes", Value: float64(h.RSSBytes)})
		}
	}
}

func boolFigure(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
