package rulecheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/internal/lines"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// ErrNoCustomer is a Line's error when the event's customer cannot be told.
var ErrNoCustomer = errors.New("rule: event has no customer")

// skipReasons are the Summary.Skipped words of live's dead-letter reasons.
var skipReasons = map[string]string{
	verdict.ReasonMissingKey:  "no key before the separator (live: missing_key)",
	verdict.ReasonInvalidKey:  "key not UTF-8 (live: invalid_key)",
	verdict.ReasonKeyTooLong:  "customer longer than --max-customer-bytes (live: key_too_long)",
	verdict.ReasonInvalidJSON: "not one JSON object",
	verdict.ReasonTooDeep:     "nested deeper than the JSON engine allows (live: too_deep)",
}

// DefaultCustomerPath is StreamConfig.CustomerPath's default.
const DefaultCustomerPath = "$.customer"

// StreamConfig says what Stream evaluates.
type StreamConfig struct {
	// Rules are evaluated together, as one active set. Required.
	Rules []*rule.Rule
	// Events is NDJSON, one event per line; blank lines are passed over. Required.
	Events io.Reader
	// EventsName names Events in errors. Default "events".
	EventsName string
	// CustomerPath selects each event's customer id. Default DefaultCustomerPath.
	CustomerPath string
	// Customer, when set, is every event's customer and CustomerPath is not used.
	Customer string
	// KeySeparator, when set, makes each line KEY<sep>JSON (as kcat -K takes them):
	// the key is the customer, and key and event are checked as live checks a record's
	// (verdict.Accept), so that a line live would dead-letter is skipped, with live's
	// reason.
	KeySeparator string
	// MaxLineBytes is the longest line read (lines.DefaultMax when 0): a longer one is
	// skipped, as an event that is not one, and the lines after it read on.
	MaxLineBytes int
	// Limits bound windowed and grouped rules' state as live's --max-groups and
	// --max-distinct do (a rule's own limits: override them), and plain counts'
	// counters and their customers' ids as live's --max-counters and
	// --max-customer-ids-bytes do. Zero fields are window.DefaultLimits'
	// (window.DefaultMaxCounters, window.DefaultMaxCustomerIDBytes).
	Limits window.Limits
	// MaxCustomers bounds the customers one rule's Summary.Counts, and one rule's
	// Summary.Alerts, hold: a match (an alert) of a customer beyond them is not
	// listed but counted in Summary.Cut, and a customer held keeps its every match,
	// so the counts listed are whole. Without it, millions of distinct customers
	// grew the summary until the process ran out of memory. Default
	// DefaultMaxCustomers; negative: no bound.
	MaxCustomers int
}

// DefaultMaxCustomers is StreamConfig.MaxCustomers' default (`hindsight rules test
// --max-customers`): a hundred thousand customers' ids and counts per rule, some
// megabytes, where the report lists only those at a threshold.
const DefaultMaxCustomers = 100_000

// Cut is what a rule's Summary.Counts and Alerts left out, past
// StreamConfig.MaxCustomers.
type Cut struct {
	// Matches counts the matches of customers Counts did not hold (of a degraded plain
	// count, those live counted); Alerts the alerts of customers Alerts did not hold.
	Matches int64
	Alerts  int
}

// Line is one event line as Stream evaluated it.
type Line struct {
	// Number is the line's number in Events, from 1.
	Number   int
	Customer string
	// Matched are the rules whose condition the event satisfies and that apply to its
	// customer, sorted by key. The slice is reused for the next line.
	Matched []*rule.Rule
	// Err says why the line was skipped (nil: it was evaluated); Skipped is that
	// reason without the line's particulars, the key of Summary.Skipped.
	Err     error
	Skipped string
	// CutShort counts the evaluations of rule paths on the event that ran out of their
	// work budget (max_rule_eval_work): a rule may have missed it, as in live.
	CutShort int
}

// Summary is what Stream counted.
type Summary struct {
	Events  int
	Invalid int
	// Skipped counts the skipped events by why.
	Skipped map[string]int
	// Counts is per rule key and customer the number of matching events, for at most
	// StreamConfig.MaxCustomers customers a rule (Cut counts the others' matches).
	Counts map[rule.Key]map[string]int64
	// Alerts is, per rule key that is not a plain count, and customer, the alerts the
	// live evaluator raises over the stream (window.Replay, one partition), for at
	// most StreamConfig.MaxCustomers customers a rule (Cut counts the others').
	Alerts map[rule.Key]map[string]int
	// CutShort counts the events on which an evaluation of a rule path ran out of its
	// work budget (Line.CutShort).
	CutShort int
	// Degraded is, per rule key, why its figures are a lower bound
	// (window.Replay.Degraded: a limit dropped contributions, or a plain count's
	// matches needing a new counter past Limits.MaxCounters or MaxCustomerIDBytes, as
	// live's rule view says), for rules that reached one. A plain count's Counts, and
	// its Cut's Matches, are then those it kept.
	Degraded map[rule.Key]string
	// Stats is, per rule key that is not a plain count, its window state's counters
	// (window.State.Stats), for rules with one not zero: Late and TimeErrors count the
	// matched events its windows did not count, below the watermark or without a usable
	// time (live's hindsight_late_events_total and hindsight_event_time_errors_total),
	// though Counts has them among the matches; the limits' counters are what Degraded
	// names.
	Stats map[rule.Key]window.Stats
	// Cut is, per rule key whose Counts or Alerts reached StreamConfig.MaxCustomers,
	// what they left out.
	Cut map[rule.Key]Cut
}

// held says whether a rule's per-customer map m, bounded by max customers, takes
// customer: one it holds, or a new one while there is room.
func held[V any](m map[string]V, customer string, max int) bool {
	if _, ok := m[customer]; ok {
		return true
	}
	return max < 0 || len(m) < max
}

// cut counts what a rule's per-customer maps left out.
func (s *Summary) cut(k rule.Key, matches int64, alerts int) {
	if s.Cut == nil {
		s.Cut = map[rule.Key]Cut{}
	}
	c := s.Cut[k]
	c.Matches += matches
	c.Alerts += alerts
	s.Cut[k] = c
}

// Stream evaluates every rule of cfg.Rules against every event of cfg.Events, as the
// live evaluator would over one partition in line order, and calls each with every
// non-blank line. Line i's record time is what a tests: block's event of the same
// index gets (rule.DefaultTestRecordTime + i × rule.DefaultTestEvery): the event time
// of windowed rules without a time path. Lines that are not an event are counted and
// passed to each with their Err; only a failure to read Events, or ctx's end (the
// summary then of the lines before the one named), is an error.
func Stream(ctx context.Context, cfg StreamConfig, each func(*Line)) (*Summary, error) {
	if cfg.CustomerPath == "" {
		cfg.CustomerPath = DefaultCustomerPath
	}
	if cfg.EventsName == "" {
		cfg.EventsName = "events"
	}
	if cfg.MaxCustomers == 0 {
		cfg.MaxCustomers = DefaultMaxCustomers
	}
	if n := cfg.Limits.MaxCustomerIDBytes; n > 0 {
		if err := window.CheckMaxCustomerIDBytes(n); err != nil {
			return nil, err
		}
	}
	set, err := rule.NewSet(cfg.Rules)
	if err != nil {
		return nil, err
	}
	custPath, err := jsonpath.Parse(cfg.CustomerPath)
	if err != nil {
		return nil, fmt.Errorf("customer path: %w", err)
	}
	sum := &Summary{Counts: map[rule.Key]map[string]int64{}, Alerts: map[rule.Key]map[string]int{}, Skipped: map[string]int{}}
	replay := window.NewReplay(set, cfg.Limits)
	var crossings []window.Result
	m := set.NewMatcher()
	doc := jsonpath.NewDocument()
	var vals []jsonpath.Value
	var line Line
	lr := lines.NewReader(cfg.Events, cfg.MaxLineBytes)
	last := 0 // the number of the last line read
	for {
		if ctx.Err() != nil {
			finish(sum, cfg.Rules, replay)
			return sum, fmt.Errorf("%s interrupted at line %d: %w", cfg.EventsName, last+1, context.Cause(ctx))
		}
		b, n, err := lr.Next()
		last = n
		if err == io.EOF {
			break
		}
		if err != nil && ctx.Err() != nil { // Events read until ctx ends (lines.UntilDone)
			finish(sum, cfg.Rules, replay)
			return sum, fmt.Errorf("%s interrupted at line %d: %w", cfg.EventsName, n+1, context.Cause(ctx))
		}
		var tooLong *lines.TooLongError
		if err != nil && !errors.As(err, &tooLong) {
			return sum, fmt.Errorf("reading %s: %w", cfg.EventsName, err)
		}
		// Only JSON's whitespace makes a line blank, and nothing is trimmed: a key or an
		// event is taken as live would take the record (Unicode spaces are no JSON
		// whitespace, so an event wrapped in them is not one).
		text := string(b)
		if tooLong == nil && strings.Trim(text, jsonpath.Whitespace) == "" {
			continue
		}
		sum.Events++
		line = Line{Number: n, Matched: line.Matched[:0]}
		skip := func(why string, err error) {
			sum.Invalid++
			sum.Skipped[why]++
			line.Err, line.Skipped = err, why
			each(&line)
		}
		if tooLong != nil {
			skip(fmt.Sprintf("longer than --max-line-bytes (%d bytes)", tooLong.Max),
				fmt.Errorf("%w: %d bytes, more than --max-line-bytes %d", lines.ErrTooLong, tooLong.Bytes, tooLong.Max))
			continue
		}
		customer := cfg.Customer
		if cfg.KeySeparator != "" {
			k, v, ok := strings.Cut(text, cfg.KeySeparator)
			if !ok {
				why := fmt.Sprintf("no %q between key and event", cfg.KeySeparator)
				skip(why, errors.New(why))
				continue
			}
			customer, text = k, v
			// The key is the record key: live's own check of key and event decides.
			if reason, err := verdict.Accept(doc, []byte(customer), []byte(text)); err != nil {
				skip(skipReasons[reason], err)
				continue
			}
		} else if err := doc.Reset([]byte(text)); err != nil {
			reason := verdict.ReasonInvalidJSON
			if errors.Is(err, jsonpath.ErrTooDeep) {
				reason = verdict.ReasonTooDeep
			}
			skip(skipReasons[reason], err)
			continue
		}
		if customer == "" {
			vals = custPath.Eval(doc, vals[:0])
			if len(vals) != 1 || vals[0].Kind() != jsonpath.KindString || vals[0].Str() == "" {
				skip(fmt.Sprintf("no customer at %s (give --customer, --customer-path, or KEY|JSON lines with --key-separator '|')", cfg.CustomerPath),
					fmt.Errorf("%w at %s", ErrNoCustomer, cfg.CustomerPath))
				continue
			}
			customer = vals[0].Str()
		}
		// A customer from the event or the flag is live's record key: its check decides.
		if reason, err := verdict.CheckCustomer([]byte(customer)); err != nil {
			skip(skipReasons[reason], err)
			continue
		}
		at := rule.DefaultTestRecordTime.Add(time.Duration(sum.Events-1) * rule.DefaultTestEvery)
		// The evaluations live makes of the event: the replay's (not the customer
		// path's before it, which live never evaluates; the match below repeats them).
		before := doc.BudgetExceeded()
		crossings = replay.Add(int64(sum.Events-1), customer, doc, at, crossings[:0])
		cut := doc.BudgetExceeded() - before
		for _, c := range crossings {
			if !c.Rule.Plain() && !c.Crossing.Resolved {
				a := sum.Alerts[c.Rule.Key()]
				if a == nil {
					a = map[string]int{}
					sum.Alerts[c.Rule.Key()] = a
				}
				if held(a, c.Crossing.Customer, cfg.MaxCustomers) {
					a[c.Crossing.Customer]++
				} else {
					sum.cut(c.Rule.Key(), 0, 1)
				}
			}
		}
		line.Customer = customer
		line.Matched = m.Match(customer, doc, line.Matched)
		if line.CutShort = cut; cut > 0 {
			sum.CutShort++
		}
		slices.SortFunc(line.Matched, func(a, b *rule.Rule) int { return strings.Compare(a.Key().String(), b.Key().String()) })
		for _, r := range line.Matched {
			c := sum.Counts[r.Key()]
			if c == nil {
				c = map[string]int64{}
				sum.Counts[r.Key()] = c
			}
			if held(c, customer, cfg.MaxCustomers) {
				c[customer]++
			} else {
				sum.cut(r.Key(), 1, 0)
			}
		}
		each(&line)
	}
	finish(sum, cfg.Rules, replay)
	return sum, nil
}

// finish completes sum from the replay of the lines read, a whole input's or an
// interrupted one's (whose report is of the lines before the interruption): the
// rules' degraded reasons, a degraded plain count's figures as the replay kept them
// (its customers' counts, and Cut's matches of those past MaxCustomers), and the
// windowed rules' stats. An interrupted run returned its counts without them,
// printed as a finished run's.
func finish(sum *Summary, rules []*rule.Rule, replay *window.Replay) {
	for _, r := range rules {
		if why := replay.Degraded(r); why != "" {
			if sum.Degraded == nil {
				sum.Degraded = map[rule.Key]string{}
			}
			sum.Degraded[r.Key()] = why
			if r.Plain() {
				// Live does not count a match that needed a counter past the bound:
				// the plain count's figures are the replay's, those of the customers
				// past MaxCustomers too (Cut), or their refused matches would be in
				// the total only when the summary's bound cut them.
				var listed int64
				for c := range sum.Counts[r.Key()] {
					if n := replay.Count(r, c); n > 0 {
						sum.Counts[r.Key()][c] = n
						listed += n
					} else {
						delete(sum.Counts[r.Key()], c)
					}
				}
				if cut, ok := sum.Cut[r.Key()]; ok {
					cut.Matches = replay.Counted(r) - listed
					sum.Cut[r.Key()] = cut
				}
			}
		}
		if r.Plain() {
			continue
		}
		st := replay.State(r)
		if stats := st.Stats(); stats != (window.Stats{}) {
			if sum.Stats == nil {
				sum.Stats = map[rule.Key]window.Stats{}
			}
			sum.Stats[r.Key()] = stats
		}
	}
}
