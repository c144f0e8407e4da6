// Package rule is Hindsight's rule model, shared by the live evaluator and backfill.
//
// A Rule says: count, per customer, the events that satisfy a condition, and alert when
// the count reaches a threshold. Its identity is (scope, id); scope is one customer id or
// GlobalScope ("*") for every customer. A higher version replaces a lower one.
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
// A Set indexes many rules so that each distinct path is evaluated once per event and
// equality tests on one path are answered by one hash lookup; its Match only ever returns
// global rules and the rules of the event's own customer.
package rule

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// GlobalScope is the scope of a rule that applies to every customer.
const GlobalScope = "*"

// Rule is one alert rule, as carried by an upsert control and in rules files.
type Rule struct {
	ID          string     `json:"id"`
	Scope       string     `json:"scope"`
	Version     int64      `json:"version"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	When        *Condition `json:"when"`
	Aggregate   Aggregate  `json:"aggregate"`
	Threshold   int64      `json:"threshold"`
	// Lookback bounds how far back history counts; zero counts all history.
	Lookback Duration `json:"lookback,omitempty"`
}

// Aggregate is what a rule computes per customer. Only "count" exists today; the other
// names are reserved so that rules files written for them fail loudly, not silently.
type Aggregate struct {
	Fn string `json:"fn"`
	// Path is the value aggregated by sum/min/max/distinct (reserved).
	Path string `json:"path,omitempty"`
	// Window is a tumbling window (reserved); empty means since the rule's lookback.
	Window string `json:"window,omitempty"`
}

// AggCount is the only aggregation implemented: the number of qualifying events.
const AggCount = "count"

var reservedAggs = map[string]bool{"sum": true, "min": true, "max": true, "distinct": true}

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

// AppliesTo reports whether events of customer are the rule's business.
func (r *Rule) AppliesTo(customer string) bool { return r.Scope == GlobalScope || r.Scope == customer }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

// Validate checks the rule and fills defaults (version 1, aggregate count). The error is
// a *ValidationError listing every problem with its field and, inside a JSONPath, column.
func (r *Rule) Validate() error {
	var errs ValidationError
	errs.Rule = r.ID
	switch {
	case r.ID == "":
		errs.add("id", 0, "is required")
	case !idPattern.MatchString(r.ID):
		errs.add("id", 0, "must be 1-128 characters of letters, digits and ._:@- starting with a letter or digit")
	}
	switch {
	case r.Scope == "":
		errs.add("scope", 0, `is required: a customer id, or "*" for every customer`)
	case r.Scope != GlobalScope && (strings.ContainsAny(r.Scope, "*\n\r\t") || len(r.Scope) > 256):
		errs.add("scope", 0, `must be "*" or one customer id (no '*', control characters, at most 256 bytes)`)
	}
	if r.Version == 0 {
		r.Version = 1
	}
	if r.Version < 0 {
		errs.add("version", 0, "must be positive")
	}
	if r.Threshold < 1 {
		errs.add("threshold", 0, "must be at least 1")
	}
	if r.Lookback < 0 {
		errs.add("lookback", 0, "must not be negative")
	}
	switch fn := r.Aggregate.Fn; {
	case fn == "" || fn == AggCount:
		r.Aggregate.Fn = AggCount
		if r.Aggregate.Path != "" || r.Aggregate.Window != "" {
			errs.add("aggregate", 0, "count takes no path or window yet")
		}
	case reservedAggs[fn]:
		errs.add("aggregate.fn", 0, fmt.Sprintf("%q is not supported yet; only count", fn))
	default:
		errs.add("aggregate.fn", 0, fmt.Sprintf("unknown aggregation %q; only count", fn))
	}
	if r.When == nil {
		errs.add("when", 0, "is required")
	} else {
		r.When.validate("when", &errs)
	}
	if len(errs.Problems) > 0 {
		return &errs
	}
	return nil
}

// ErrInvalid is matched (errors.Is) by every validation error.
var ErrInvalid = errors.New("rule: invalid")

// Problem is one thing wrong with a rule: the field (as a path such as
// "when.all[1].path") and, for JSONPath text, the 1-based column in it.
type Problem struct {
	Field  string `json:"field"`
	Column int    `json:"column,omitempty"`
	Msg    string `json:"message"`
}

func (p Problem) String() string {
	if p.Column > 0 {
		return fmt.Sprintf("%s: column %d: %s", p.Field, p.Column, p.Msg)
	}
	return p.Field + ": " + p.Msg
}

// ValidationError lists every problem found in one rule or control.
type ValidationError struct {
	Rule     string    `json:"rule,omitempty"`
	Problems []Problem `json:"problems"`
}

func (e *ValidationError) add(field string, col int, msg string) {
	e.Problems = append(e.Problems, Problem{Field: field, Column: col, Msg: msg})
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid rule")
	if e.Rule != "" {
		b.WriteString(" " + strconv.Quote(e.Rule))
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

// ParseDuration parses Go durations plus a trailing whole number of days ("30d").
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, nil
	}
	if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		if err != nil || n < 0 || n > 365*1000 {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number", s)
		}
		return Duration(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use e.g. 720h, 90m or 30d", s)
	}
	return Duration(d), nil
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
