// Package rule is Hindsight's rule model, shared by the live evaluator, backfill, the
// console and the CLI: what a rule says, how it is validated, and how rules are indexed
// to match events.
//
// A Rule says: among each customer's events that satisfy a condition (when), compute an
// aggregate, per group (group_by) and time window (window) if the rule has them, and
// alert when it passes a threshold. Its identity is (scope, id); scope is one customer
// id or GlobalScope ("*") for every customer. A higher version replaces a lower one.
//
// # Conditions
//
// Conditions are JSONPath queries (RFC 9535, package jsonpath) with an operator, combined
// with all/any/not. A comparison holds when at least one value the path selects satisfies
// it ("exists" semantics over the selected nodes):
//
//   - exists: the path selects at least one node.
//   - == / !=: some selected node is equal / not equal to the value. Equality is JSON
//     equality: numbers by value (1 == 1.0), strings by code points, arrays and objects
//     deeply; a number never equals a string, so "5" != 5 holds.
//   - < <= > >=: some selected node and the value are both numbers or both strings, and
//     ordered so. Values of other kinds never compare.
//   - in: some selected node equals a member of the value, a list.
//   - matches: some selected node is a string in which the RE2 pattern finds a match
//     (unanchored, as grep: anchor with ^ and $).
//   - contains: some selected node is a string containing the value (a string) as a
//     substring, or an array with an element equal to the value.
//
// A path that selects nothing fails every operator; only {"not": …} turns that into true.
//
// # Plain counts
//
// A rule without window and group_by, whose aggregate is count (the default) and whose
// threshold is a bare number n (">= n"), is a plain count, as every rule was before the
// other fields existed, and it behaves exactly as before: one running count per customer
// of the qualifying events since its lookback (counted back from when the version became
// active; zero counts all history), history backfilled when the version is applied, and
// one alert per (version, customer) when the count reaches n, a whole number from 1 to
// 2^53. Its JSON encoding, and so its fingerprint, is unchanged. Any other rule is
// evaluated per group and window by package window, with the semantics below.
//
// # Aggregates, groups and windows
//
// A rule is evaluated in each events partition separately, over its matched events in
// offset order; exact figures rely on producers keying events by customer, so that one
// partition holds all of a customer's events.
//
//   - aggregate {fn, path}: count counts qualifying events (it takes no path); sum, min,
//     max and avg take from each the first node path selects that is a finite number;
//     count_distinct counts the distinct JSON values of the first node path selects.
//     An event without such a node does not contribute: it opens no group or window
//     (its time still moves the watermark).
//   - group_by: up to 4 JSONPaths (max_rule_group_by), none repeated. An event's group is
//     the tuple of the first node each path selects, JSON null where one selects
//     nothing, compared as JSON values (1 and 1.0 are one group, objects by member).
//     Groups never cross customers: a global rule keeps every customer's groups apart.
//   - window {size, every}: windows of length size, a new one starting each every
//     (default size: tumbling windows; shorter: hopping windows that overlap), aligned
//     to the Unix epoch: window k covers [k·every, k·every+size) in Unix milliseconds,
//     and an event counts in every window containing its time, size/every of them.
//     Both are positive whole milliseconds, size is a multiple of every and at most
//     max_rule_lookback, and size/every is at most 1,440 (max_rule_window_overlap). A
//     rule without window has one window per group that never closes: a running total
//     since its lookback.
//   - time (window only): the event time is the first node this JSONPath selects, RFC
//     3339 text (T and Z in either case; a leap second is the second after it) or a
//     number of milliseconds since the epoch; without time, the record timestamp. Times
//     are floored to whole milliseconds, within the years 0000 to 9999 (RFC 3339's, in
//     which alerts carry them), and so must every window an event falls in.
//     An event without a usable time does not count and is counted in
//     hindsight_event_time_errors_total{rule}.
//   - lateness (window only; whole milliseconds, default 0): a partition's watermark is
//     the largest event time of the rule's matched events earlier in the partition
//     (offset order), minus lateness. An event whose time is below it is late: it does
//     not count and is counted in hindsight_late_events_total{rule}. (Neither a late
//     event nor one without a usable time moves the watermark.) A window is closed once
//     its end is at or below the watermark, and then dropped: nothing changes it again.
//   - threshold: a bare number n means ">= n"; otherwise {op, value}, op one of >, >=, <,
//     <=, == ({op: ">=", value: n} is written back as n). A window alerts when its
//     aggregate, after an event that contributed to it, first satisfies the threshold:
//     at most once per (rule version, customer, group, window). A window no event
//     contributed to is never tested, so a rule cannot alert on the absence of events.
//     Every rule but a plain count must have a threshold.
//   - limits {max_groups, max_distinct}: this rule's bounds on its state, overriding the
//     evaluator's (flags; zero keeps them): the most open groups (customer and group)
//     per partition, and the most distinct values of one count_distinct window (for
//     count_distinct only). A new group or distinct value beyond them is not kept, nor
//     is a sum that would overflow float64, each counted in
//     hindsight_window_limit_drops_total{rule,limit}; the rule's status is then
//     degraded, saying why: its figures are lower bounds.
//   - backfill {alert}: see History below.
//   - alert {severity, context, suppress, resolve, notify}: how the rule's alerts read
//     and travel. severity ranks them for whoever receives them: info, low, medium (the
//     default), high or critical; every alert record carries it. context lists
//     singular paths (at most max_rule_context) whose values in the event that took the
//     aggregate across the threshold the alert carries, by path (null where a path
//     selects nothing). suppress (windows only; whole milliseconds; default the
//     window's size, 0s none): after an alert for a (customer, group), crossings raise
//     none until the watermark passes the alert's event time plus suppress — decided
//     in event time from the partition's order, as lateness is, so history and live
//     agree (window's package comment). resolve (windows only): a resolved record
//     follows when that incident closes, no earlier than the end of the last window
//     that crossed during it. notify names destinations (at most max_rule_notify;
//     Destination) the notify stage delivers the alerts to.
//
// # History
//
// When a rule other than a plain count is applied, the live evaluator hands it its
// history (each partition's events below the offset at which it adopts the version)
// before it evaluates on, so its windows are those of a rule that had always been
// there, up to its lookback: with one, history holds only the events recorded since
// the version became active minus the lookback, as for a plain count. Crossings in that
// history are not sent unless backfill.alert is true (then with source "backfill", and
// the alert_id live would have given); hindsight backtest shows them. A plain count
// always sends the alert its history crossed, so backfill.alert is for the others only.
//
// # Limits
//
// Every rule is bounded, so that no one rule can make matching or backfill expensive
// (Limits documents each bound, its name and why; these are the defaults): an in list
// has at most 1,000 members (max_rule_in_list); a matches pattern at most 1 KiB
// (max_rule_regex_bytes) and about 2,048 RE2 instructions (max_rule_regex_program); a
// rule at most 64 tests (max_rule_conditions), 16 levels of all/any/not
// (max_rule_depth), 64 KiB of compact JSON (max_rule_bytes) nested at most 64 levels
// (max_rule_json_depth), 4 group_by paths (max_rule_group_by), 1,440 windows an event
// falls in (max_rule_window_overlap), and a lookback, window size and lateness of at
// most 3650d each (max_rule_lookback); its own limits may raise its state's bounds
// above the evaluator's to at most 1,000,000 groups (max_rule_groups) and 1,000,000
// distinct values (max_rule_distinct); a JSONPath at most 512 bytes
// (max_rule_path_bytes) and 32 segments (max_rule_path_segments); a rules file at most
// 1 MiB, YAML aliases counted in full (max_rules_file_bytes). Versions and thresholds,
// and the integers a condition's value writes without fraction or exponent, are at most
// 2^53 (MaxSafeInteger) in magnitude, so that JSON numbers hold them exactly: a
// condition on id 9007199254740993 would match 9007199254740992; such ids are compared
// as strings. A rule beyond a bound is invalid, with a problem naming the bound and its
// value. SetLimits changes the limits for the whole process, once at start-up.
//
// # Sets
//
// A Set indexes many rules so that each distinct path is evaluated once per event and
// equality tests on one path are answered by one lookup; its Match only ever returns
// global rules and the rules of the event's own customer. Set.With derives a Set that
// rebuilds only the scopes a change names.
package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/jsonpath"
)

// GlobalScope is the scope of a rule that applies to every customer.
const GlobalScope = "*"

// Rule is one alert rule, as carried by an upsert control and in rules files.
type Rule struct {
	ID    string `json:"id"`
	Scope string `json:"scope"`
	// Version orders a rule's versions: 1 to MaxSafeInteger.
	Version     int64      `json:"version"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	When        *Condition `json:"when"`
	Aggregate   Aggregate  `json:"aggregate"`
	// Threshold is the test the aggregate must pass to alert; a bare number n means
	// ">= n". A plain count's is a whole number from 1 to MaxSafeInteger.
	Threshold Threshold `json:"threshold"`
	// Lookback bounds how far back history counts (from the millisecond the version's
	// activation less the lookback falls in: HistoryFrom); zero counts all history. At
	// most the max_rule_lookback limit (3650d by default).
	Lookback Duration `json:"lookback,omitempty"`
	// GroupBy splits a customer's aggregate by the values these paths select (at most
	// max_rule_group_by).
	GroupBy []string `json:"group_by,omitempty"`
	// Window makes the aggregate one per time window; nil is a running total.
	Window *Window `json:"window,omitempty"`
	// Seq is the number of the activation this rule was decoded for
	// (controls.Version.Seq), set by the registry that activated it and 0 outside one:
	// each activation decodes a rule of its own, so the evaluator counts a matched rule
	// under it without looking its version up (a map lookup per match, an eighth of
	// the CPU with 1,000 rules). It sits right after Window, which Plain reads first,
	// so that its load rarely touches another cache line.
	Seq uint32 `json:"-"`
	// Time selects each event's time for its windows (RFC 3339 text or epoch
	// milliseconds); empty is the record timestamp.
	Time string `json:"time,omitempty"`
	// Lateness is how far behind the partition's newest event time an event may be
	// and still count.
	Lateness Duration `json:"lateness,omitempty"`
	// Limits overrides the evaluator's bounds on this rule's state, down or up; up at
	// most to max_rule_groups and max_rule_distinct.
	Limits *RuleLimits `json:"limits,omitempty"`
	// Backfill says what handing the rule its history does (not for plain counts).
	Backfill *BackfillOptions `json:"backfill,omitempty"`
	// Alert says how the rule's alerts read.
	Alert *AlertOptions `json:"alert,omitempty"`

	groupPaths   []*jsonpath.Path // compiled by validate
	timePath     *jsonpath.Path
	contextPaths []*jsonpath.Path
}

// Key is a rule's identity.
type Key struct {
	Scope string
	ID    string
}

// String is the control record key, SCOPE/ID.
func (k Key) String() string { return k.Scope + "/" + k.ID }

// ParseKey parses SCOPE/ID. Rule ids never contain '/', so the last '/' splits.
func ParseKey(s string) (Key, error) {
	i := strings.LastIndexByte(s, '/')
	if i <= 0 || i == len(s)-1 {
		return Key{}, fmt.Errorf("rule: key %q is not SCOPE/ID", s)
	}
	return Key{Scope: s[:i], ID: s[i+1:]}, nil
}

// Key returns the rule's identity.
func (r *Rule) Key() Key { return Key{Scope: r.Scope, ID: r.ID} }

// Global reports whether the rule applies to every customer.
func (r *Rule) Global() bool { return r.Scope == GlobalScope }

// HistoryFrom is the record time the rule's history starts at, for a version active
// since asOf: asOf less the lookback, truncated to the millisecond; zero without a
// lookback. Record times are whole milliseconds, and DuckDB keeps microseconds: a
// bound between two microseconds (a lookback may be any duration) was compared one way
// by the lake's query and another by a Go comparison of a Kafka record's time.
func (r *Rule) HistoryFrom(asOf time.Time) time.Time {
	if r.Lookback <= 0 || asOf.IsZero() {
		return time.Time{}
	}
	return asOf.Add(-time.Duration(r.Lookback)).Truncate(time.Millisecond)
}

// AppliesTo reports whether events of customer are the rule's business.
func (r *Rule) AppliesTo(customer string) bool { return r.Scope == GlobalScope || r.Scope == customer }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

// ruleScopeProblem says what is wrong with scope as a rule's ("" when nothing), for
// upserts and deletes alike: a delete's record key is its scope and id as an upsert's.
func ruleScopeProblem(scope string) string {
	switch {
	case scope == "":
		return `is required: a customer id, or "*" for every customer`
	case scope != GlobalScope && (strings.ContainsAny(scope, "*\n\r\t") || len(scope) > 256 || !utf8.ValidString(scope)):
		// Not UTF-8: no event's customer can be it (ingest dead-letters such keys), and
		// JSON cannot write it back: the keeper of its key was refused in turn.
		return `must be "*" or one customer id (valid UTF-8, no '*', newline, carriage return or tab, at most 256 bytes)`
	case strings.HasPrefix(scope, recordKeyPrefix(KindDestination)) || strings.HasPrefix(scope, recordKeyPrefix(KindMute)):
		// Its record key would read as a destination's or mute's.
		return `must not start with "destination:" or "mute:"`
	}
	return ""
}

// ValidName reports whether s is a valid rule, destination or mute id: what a rule's
// alert.notify may name.
func ValidName(s string) bool { return idPattern.MatchString(s) }

// Validate checks the rule and fills defaults (version 1, aggregate count). The error is
// a *ValidationError listing every problem with its field and, inside a JSONPath, column.
// It applies the limits in force (CurrentLimits).
func (r *Rule) Validate() error { return r.validate(CurrentLimits()) }

func (r *Rule) validate(lim Limits) error {
	var errs ValidationError
	errs.Rule = r.ID
	switch {
	case r.ID == "":
		errs.add("id", 0, "is required")
	case !idPattern.MatchString(r.ID):
		errs.add("id", 0, "must be 1-128 characters of letters, digits and ._:@- starting with a letter or digit")
	}
	if msg := ruleScopeProblem(r.Scope); msg != "" {
		errs.add("scope", 0, msg)
	}
	if r.Version == 0 {
		r.Version = 1
	}
	switch {
	case r.Version < 0:
		errs.add("version", 0, "must be positive")
	case r.Version > MaxSafeInteger:
		errs.add("version", 0, fmt.Sprintf("%d is beyond %d (2^53), the largest integer JSON numbers hold exactly everywhere; a larger version could never be replaced", r.Version, int64(MaxSafeInteger)))
	}
	switch {
	case r.Lookback < 0:
		errs.add("lookback", 0, "must not be negative")
	case r.Lookback > lim.MaxLookback:
		errs.addLimit("lookback", 0, LimitLookback, fmt.Sprintf("%s is longer than %s (limit %s)", r.Lookback, lim.MaxLookback, LimitLookback))
	}
	r.validateAggregation(lim, &errs)
	if r.When == nil {
		errs.add("when", 0, "is required")
	} else {
		v := condValidator{lim: lim, errs: &errs}
		v.validate(r.When, "when", 0)
	}
	if len(errs.Problems) == 0 {
		// Measured last, on the compact encoding a control carries, so that the size is
		// the same whatever whitespace the rule was written with. The other limits keep
		// a rule within reach of this one; it bounds what all of them allow together.
		if b, err := json.Marshal(r); err == nil && len(b) > lim.MaxRuleBytes {
			errs.addLimit("rule", 0, LimitRuleBytes, overLimit("is", len(b), "bytes of JSON", lim.MaxRuleBytes, LimitRuleBytes))
		}
	}
	if len(errs.Problems) > 0 {
		return &errs
	}
	return nil
}

// quoted is a name or value a control or rule gave, quoted for a problem's message:
// cut to its first quotedBytes, its size said, when longer (shown.Quoted). A control
// record may be a megabyte, and a message quoting an id of that size whole was as
// large, then repeated in the control's status and rejected control.
func quoted(s string) string { return shown.Quoted(s, quotedBytes) }

// quotedBytes is the most of a value quoted makes a message quote.
const quotedBytes = 256

// ErrInvalid is matched (errors.Is) by every validation error.
var ErrInvalid = errors.New("rule: invalid")

// Problem is one thing wrong with a rule: the field (as a path such as
// "when.all[1].path") and, for JSONPath text, the 1-based column in it.
type Problem struct {
	Field  string `json:"field"`
	Column int    `json:"column,omitempty"`
	Msg    string `json:"message"`
	// Limit names the limit the rule reaches (max_rule_in_list, …), when that is the
	// problem: a rule beyond a limit is valid under a higher one, which a fold of the
	// controls topic tells apart (LimitsOnly). The message names it too; it is not
	// part of the JSON, whose form the API documents.
	Limit string `json:"-"`
}

func (p Problem) String() string {
	if p.Column > 0 {
		return fmt.Sprintf("%s: column %d: %s", p.Field, p.Column, p.Msg)
	}
	return p.Field + ": " + p.Msg
}

// ValidationError lists every problem found in one rule or control.
type ValidationError struct {
	// Kind is what was invalid: KindRule (empty), KindDestination or KindMute; Rule
	// names it (a rule's or mute's id, a destination's name).
	Kind     string    `json:"kind,omitempty"`
	Rule     string    `json:"rule,omitempty"`
	Problems []Problem `json:"problems"`
}

func (e *ValidationError) add(field string, col int, msg string) {
	e.Problems = append(e.Problems, Problem{Field: field, Column: col, Msg: msg})
}

// addLimit adds a problem of reaching the limit named limit (none: empty).
func (e *ValidationError) addLimit(field string, col int, limit, msg string) {
	e.Problems = append(e.Problems, Problem{Field: field, Column: col, Msg: msg, Limit: limit})
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	kind := e.Kind
	if kind == "" {
		kind = "rule"
	}
	b.WriteString("invalid " + kind)
	if e.Rule != "" {
		b.WriteString(" " + quoted(e.Rule))
	}
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Duration is a time.Duration that reads and writes as text: "720h", "90m", and also
// days ("30d") because retention is thought of in days.
type Duration time.Duration

// ParseDuration parses Go durations plus a trailing whole number of days ("30d"). A
// duration beyond what time.Duration holds (about 106,751 days) is an error, never a
// value wrapped around.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, nil
	}
	if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) || n < 0 {
			return 0, &durationError{s, "days must be a whole number"}
		}
		if errors.Is(err, strconv.ErrRange) || n > maxDays {
			return 0, &durationError{s, fmt.Sprintf("out of range; at most %dd", maxDays)}
		}
		return Duration(time.Duration(n) * day), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if isOverflow(s) {
			return 0, &durationError{s, fmt.Sprintf("out of range; at most %s", time.Duration(math.MaxInt64))}
		}
		return 0, &durationError{s, "use e.g. 720h, 90m or 30d"}
	}
	return Duration(d), nil
}

// durationError is ParseDuration's error. Decoding a rule passes it through unchanged,
// so that ParseRule can report it as a problem of the lookback field.
type durationError struct{ text, msg string }

func (e *durationError) Error() string { return fmt.Sprintf("invalid duration %q: %s", e.text, e.msg) }

const day = 24 * time.Hour

// maxDays is the most whole days a time.Duration holds.
const maxDays = int64(math.MaxInt64 / day)

// isOverflow tells an out-of-range Go duration ("9999999999h") from a malformed one,
// which time.ParseDuration reports alike: s is out of range if it parses with every
// run of digits shortened to "1".
func isOverflow(s string) bool {
	var b strings.Builder
	inDigits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if !inDigits {
				b.WriteByte('1')
			}
			inDigits = true
			continue
		}
		inDigits = false
		b.WriteByte(c)
	}
	_, err := time.ParseDuration(b.String())
	return err == nil
}

func (d Duration) String() string {
	if d == 0 {
		return ""
	}
	if td := time.Duration(d); td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return time.Duration(d).String()
}

// MarshalText writes the duration as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads the duration from text.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
