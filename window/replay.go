package window

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// Replay evaluates a set of rules over one partition's events in order, as the live
// evaluator does, for `rules test`, previews and tests: plain counts as one running
// count per customer, bounded together by Limits.MaxCounters and their customers' ids
// by Limits.MaxCustomerIDBytes as live's are, every other rule through a State.
type Replay struct {
	set    *rule.Set
	m      *rule.Matcher
	lim    Limits
	states map[*rule.Rule]*State
	counts map[*rule.Rule]map[string]int64
	// counters is how many (customer, plain rule) counters counts holds, bounded by
	// maxCounters (none if negative); refused counts, per plain rule, the matches that
	// needed a new counter past it or past maxIDBytes, and refusedBy which bounds
	// refused any.
	counters    int
	maxCounters int
	refused     map[*rule.Rule]int64
	refusedBy   struct{ counters, ids bool }
	// customers are those counts holds counters of, whose ids take idBytes as in
	// live's store (one copy per customer, whatever its rules), bounded by maxIDBytes.
	customers  map[string]struct{}
	idBytes    IDPages
	maxIDBytes int64
	matched    []*rule.Rule
	shared     Shared
	ev         Event
	// The crossing callback's state: bound once, so that Add allocates nothing.
	cross   func(Crossing)
	rule    *rule.Rule
	results []Result
	// cutShort counts the evaluations Add's documents ran out of their work budget in.
	cutShort int
	// silentBelow is every state's (SilenceBelow).
	silentBelow int64
}

// Result is one crossing found by Replay.Add.
type Result struct {
	Rule     *rule.Rule
	Crossing Crossing
}

// NewReplay returns a replay of the rules in set under limits lim.
func NewReplay(set *rule.Set, lim Limits) *Replay {
	p := &Replay{set: set, m: set.NewMatcher(), lim: lim, states: map[*rule.Rule]*State{}, counts: map[*rule.Rule]map[string]int64{},
		maxCounters: lim.MaxCounters, refused: map[*rule.Rule]int64{}, customers: map[string]struct{}{}, maxIDBytes: lim.MaxCustomerIDBytes}
	if p.maxCounters == 0 {
		p.maxCounters = DefaultMaxCounters
	}
	switch {
	case p.maxIDBytes == 0:
		p.maxIDBytes = DefaultMaxCustomerIDBytes
	case p.maxIDBytes < 0 || p.maxIDBytes > MaxIDBytes:
		p.maxIDBytes = MaxIDBytes
	}
	p.cross = func(c Crossing) {
		c.Group = append([]byte(nil), c.Group...)
		c.Samples = append([]int64(nil), c.Samples...)
		p.results = append(p.results, Result{Rule: p.rule, Crossing: c})
	}
	return p
}

// Add evaluates one event, at offset in its partition, and appends its crossings to
// dst.
func (p *Replay) Add(offset int64, customer string, doc *jsonpath.Document, recordTime time.Time, dst []Result) []Result {
	before := doc.BudgetExceeded()
	p.matched = p.m.Match(customer, doc, p.matched[:0])
	p.shared.Reset()
	p.ev = Event{Customer: customer, Doc: doc, Time: recordTime, Shared: &p.shared, Offset: offset}
	for _, r := range p.matched {
		if r.Plain() {
			if p.countOne(r, customer) {
				dst = append(dst, Result{Rule: r, Crossing: Crossing{Customer: customer, Count: r.Threshold.Count(), Value: float64(r.Threshold.Count()),
					Context: ContextOf(r, doc), Samples: []int64{offset}}})
			}
			continue
		}
		p.rule, p.results = r, dst
		p.State(r).Add(&p.ev, p.cross)
		dst = p.results
	}
	p.rule, p.results, p.ev = nil, nil, Event{}
	p.cutShort += doc.BudgetExceeded() - before
	return dst
}

// CutShort is the number of rule path evaluations Add made that ran out of jsonpath's work budget
// (max_rule_eval_work): their results were truncated, so a rule may have missed the
// event, as in live, which counts them in hindsight_eval_budget_exceeded_total.
func (p *Replay) CutShort() int { return p.cutShort }

// AddMatched adds an event that rule r is known to match, with the values of its
// group_by, aggregate, time and context paths given by values (see Event.Values) and
// no document, and appends its crossings to dst. Matched is then r.
func (p *Replay) AddMatched(r *rule.Rule, offset int64, customer string, values func(*jsonpath.Path) jsonpath.Value, recordTime time.Time, dst []Result) []Result {
	p.matched = append(p.matched[:0], r)
	if r.Plain() {
		if p.countOne(r, customer) {
			var ctx map[string]json.RawMessage
			if len(r.ContextPaths()) > 0 {
				ctx = contextOf(r, values)
			}
			dst = append(dst, Result{Rule: r, Crossing: Crossing{Customer: customer, Count: r.Threshold.Count(), Value: float64(r.Threshold.Count()),
				Context: ctx, Samples: []int64{offset}}})
		}
		return dst
	}
	p.shared.Reset()
	p.ev = Event{Customer: customer, Time: recordTime, Shared: &p.shared, Values: values, Offset: offset}
	p.rule, p.results = r, dst
	p.State(r).Add(&p.ev, p.cross)
	dst = p.results
	p.rule, p.results, p.ev = nil, nil, Event{}
	return dst
}

// State is rule r's state (r not plain), made on first use.
func (p *Replay) State(r *rule.Rule) *State {
	st := p.states[r]
	if st == nil {
		st = New(r, p.lim)
		st.SilenceBelow(p.silentBelow)
		p.states[r] = st
	}
	return st
}

// SilenceBelow is State.SilenceBelow for every rule's state, made or to be made.
func (p *Replay) SilenceBelow(offset int64) {
	p.silentBelow = offset
	for _, st := range p.states {
		st.SilenceBelow(offset)
	}
}

// countOne adds one to plain rule r's count for customer and tells whether that
// reached r's threshold: the one crossing of a running total. A match that needs a
// new counter past Limits.MaxCounters, or a new customer whose id takes the ids past
// Limits.MaxCustomerIDBytes, is not counted, in the order live's store checks them
// (--max-counters, --max-customer-ids-bytes): otherwise a history of many customers
// grew the map without bound, and the replay gave another verdict than live's.
func (p *Replay) countOne(r *rule.Rule, customer string) bool {
	c := p.counts[r]
	if c == nil {
		c = map[string]int64{}
		p.counts[r] = c
	}
	n, ok := c[customer]
	if !ok {
		if p.maxCounters > 0 && p.counters >= p.maxCounters {
			p.refused[r]++
			p.refusedBy.counters = true
			return false
		}
		if _, known := p.customers[customer]; !known {
			if !p.idBytes.Fits(len(customer), p.maxIDBytes) {
				p.refused[r]++
				p.refusedBy.ids = true
				return false
			}
			p.idBytes.Add(len(customer))
			p.customers[customer] = struct{}{}
		}
		p.counters++
	}
	c[customer] = n + 1
	return n+1 == r.Threshold.Count()
}

// Degraded says why rule r's figures are a lower bound, as live's rule view does, or
// "": for a plain count, that matches needing a new counter past Limits.MaxCounters
// or Limits.MaxCustomerIDBytes were not counted, naming the bounds the replay reached
// (live's view names both, its metrics which); for any other rule, its State's
// Degraded.
func (p *Replay) Degraded(r *rule.Rule) string {
	if !r.Plain() {
		return p.State(r).Degraded()
	}
	n := p.refused[r]
	if n == 0 {
		return ""
	}
	counters := fmt.Sprintf("--max-counters %d counters", p.maxCounters)
	ids := fmt.Sprintf("--max-customer-ids-bytes %d bytes of customer ids", p.maxIDBytes)
	bound := counters
	switch {
	case p.refusedBy.counters && p.refusedBy.ids:
		bound = counters + ", or " + ids
	case p.refusedBy.ids:
		bound = ids
	}
	return fmt.Sprintf("counter store full (at %s): %d matches that needed a new counter were not counted", bound, n)
}

// Count is plain rule r's running count for customer.
func (p *Replay) Count(r *rule.Rule, customer string) int64 { return p.counts[r][customer] }

// Counted is plain rule r's matches counted over every customer: live's total for the
// rule, without the matches a full counter store refused (Degraded).
func (p *Replay) Counted(r *rule.Rule) int64 {
	var n int64
	for _, c := range p.counts[r] {
		n += c
	}
	return n
}

// Matched is the rules the last event added matched, valid until the next Add.
func (p *Replay) Matched() []*rule.Rule { return p.matched }
