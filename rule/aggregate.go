package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
)

// The aggregate functions (Aggregate.Fn).
const (
	AggCount         = "count"
	AggCountDistinct = "count_distinct"
	AggSum           = "sum"
	AggMin           = "min"
	AggMax           = "max"
	AggAvg           = "avg"
)

var aggFns = map[string]bool{AggCount: true, AggCountDistinct: true, AggSum: true, AggMin: true, AggMax: true, AggAvg: true}

// Aggregate is what a rule computes per customer and group: Fn over the qualifying
// events, of the value Path selects (every function but count needs one).
type Aggregate struct {
	Fn   string `json:"fn"`
	Path string `json:"path,omitempty"`

	path *jsonpath.Path // compiled by validate
}

// Window is a rule's time window: hopping windows of Size starting every Every (Every
// defaults to Size: tumbling windows), aligned to the Unix epoch.
type Window struct {
	Size  Duration `json:"size"`
	Every Duration `json:"every,omitempty"`
}

// Overlap is how many windows one event time falls in.
func (w *Window) Overlap() int64 { return int64(w.Size / w.Every) }

// UnmarshalJSON reads {"size", "every"} strictly, naming the field of a duration that
// does not parse. The decoders return a Duration's error without the field it came
// from, and both of a window's fields are durations: the problem must say window.size
// or window.every, not lookback (decodeError's durationField reads the Go field name
// from the message, as encoding/json words it).
func (w *Window) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	if err := windowKinds(b); err != nil {
		return err
	}
	type window Window // without methods: decodes as the struct it is
	var v window
	err := strict.Unmarshal(b, &v)
	var de *durationError
	if errors.As(err, &de) {
		// Find the field by decoding each alone; one of them fails as a whole did.
		var o struct {
			Size  json.RawMessage `json:"size"`
			Every json.RawMessage `json:"every"`
		}
		goName := "Window.Size"
		var d Duration
		if strict.Unmarshal(b, &o) == nil && o.Every != nil && strict.Unmarshal(o.Every, &d) != nil &&
			(o.Size == nil || strict.Unmarshal(o.Size, &d) == nil) {
			goName = "Window.Every"
		}
		return &fieldError{goName: goName, err: err}
	}
	if err != nil {
		return err
	}
	*w = Window(v)
	return nil
}

// windowKinds refuses a window that is not an object, or whose size or every is not a
// string, as a problem of that field: the decoder's own message names a Go type and a
// byte index, and calls valid JSON a syntax error.
func windowKinds(b []byte) error {
	b = bytes.TrimSpace(b)
	if kind := jsonKind(b); kind != "an object" {
		return &kindError{field: "window", msg: "is " + kind + "; want an object ({size, every})"}
	}
	var o struct {
		Size  json.RawMessage `json:"size"`
		Every json.RawMessage `json:"every"`
	}
	if json.Unmarshal(b, &o) != nil {
		return nil // the decoder says what is wrong
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"window.size", o.Size}, {"window.every", o.Every}} {
		if kind := jsonKind(f.raw); f.raw != nil && kind != "a string" && kind != "null" {
			return &kindError{field: f.name, msg: "is " + kind + "; want a string (a duration such as 10m)"}
		}
	}
	return nil
}

// jsonKind names the kind of the JSON value b begins with.
func jsonKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "empty"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// kindError is a field of the wrong kind of JSON value, found by a decoder of the
// field's own: a problem of field.
type kindError struct{ field, msg string }

func (e *kindError) Error() string { return e.field + ": " + e.msg }

// fieldError is a decoding error of the Go field goName (Window.Size), as encoding/json
// names fields in its own errors.
type fieldError struct {
	goName string
	err    error
}

func (e *fieldError) Error() string { return "Go struct field " + e.goName + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// Threshold is the test a rule's aggregate must pass to alert: Value compared by Op
// (">=" by default). It reads and writes as a bare number for ">=", so that rules
// written before operators existed keep their exact encoding (and fingerprint), and as
// {"op", "value"} otherwise.
type Threshold struct {
	Op    Op
	Value float64
}

// AtLeast is the threshold ">= n", what a bare number means.
func AtLeast(n float64) Threshold { return Threshold{Op: OpGe, Value: n} }

// Holds reports whether v passes the threshold.
func (t Threshold) Holds(v float64) bool {
	switch t.Op {
	case OpGt:
		return v > t.Value
	case OpLt:
		return v < t.Value
	case OpLe:
		return v <= t.Value
	case OpEq:
		return v == t.Value
	default:
		return v >= t.Value
	}
}

// Count is the threshold as a count, for a rule that counts events with ">=": the count
// at which it alerts.
func (t Threshold) Count() int64 { return int64(math.Ceil(t.Value)) }

// plain reports whether the threshold is written as a bare number.
func (t Threshold) plain() bool { return t.Op == "" || t.Op == OpGe }

// String is the threshold as people write it: ">= 5".
func (t Threshold) String() string {
	op := t.Op
	if op == "" {
		op = OpGe
	}
	b, _ := json.Marshal(t.Value)
	return string(op) + " " + string(b)
}

// MarshalJSON writes a bare number for ">=", else {"op", "value"}.
func (t Threshold) MarshalJSON() ([]byte, error) {
	if t.plain() {
		return json.Marshal(t.Value)
	}
	return json.Marshal(struct {
		Op    Op      `json:"op"`
		Value float64 `json:"value"`
	}{t.Op, t.Value})
}

// UnmarshalJSON reads a number (">=") or {"op", "value"}. null leaves the threshold
// unset, as if absent.
func (t *Threshold) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			Op    json.RawMessage `json:"op"`
			Value json.RawMessage `json:"value"`
		}
		if err := strict.Unmarshal(b, &o); err != nil {
			return &thresholdError{"must be a number or {op, value}: " + cleanDecodeError(err)}
		}
		var op Op
		switch kind := jsonKind(o.Op); {
		case o.Op == nil || kind == "null": // ">=", as a bare number
		case kind != "a string":
			return &thresholdError{"op is " + kind + "; want an operator as a string, such as \">\""}
		default:
			if err := strict.Unmarshal(o.Op, &op); err != nil {
				return &thresholdError{"must be a number or {op, value}: " + cleanDecodeError(err)}
			}
		}
		if o.Value == nil || string(o.Value) == "null" {
			return &thresholdError{"value is required"}
		}
		v, err := thresholdNumber(o.Value)
		if err != nil {
			return err
		}
		*t = Threshold{Op: op, Value: v}
		if t.Op == "" {
			t.Op = OpGe
		}
		return nil
	}
	v, err := thresholdNumber(b)
	if err != nil {
		return err
	}
	*t = AtLeast(v)
	return nil
}

// thresholdNumber decodes the JSON number text b, refusing one beyond MaxSafeInteger
// that float64 cannot show to be so: 1e400 does not decode at all, and
// 9007199254740993 rounds to 2^53 itself, which validation would accept. Both are
// judged on the text, exactly.
func thresholdNumber(b []byte) (float64, error) {
	var v float64
	err := json.Unmarshal(b, &v)
	var ute *json.UnmarshalTypeError
	switch {
	case err == nil && math.Abs(v) != MaxSafeInteger:
		// Below 2^53 every float64 is the nearest to the text; above it validation
		// refuses the value anyway.
		return v, nil
	case err == nil, errors.As(err, &ute) && strings.HasPrefix(ute.Value, "number"):
		// 2^53 exactly, or a number out of float64's range.
		var exact big.Rat
		if _, ok := exact.SetString(string(b)); ok && exact.Abs(&exact).Cmp(new(big.Rat).SetInt64(MaxSafeInteger)) > 0 {
			return 0, &thresholdError{beyondSafe(string(b))}
		}
		if err == nil {
			return v, nil
		}
	}
	return 0, &thresholdError{"must be a number or {op, value}"}
}

// beyondSafe is the problem of a threshold, written num, beyond MaxSafeInteger.
func beyondSafe(num string) string {
	return fmt.Sprintf("%s is beyond %d (2^53), the largest integer JSON numbers hold exactly everywhere", num, int64(MaxSafeInteger))
}

// thresholdError is Threshold's decoding error, reported as a problem of the threshold
// field.
type thresholdError struct{ msg string }

func (e *thresholdError) Error() string { return e.msg }

var thresholdOps = map[Op]bool{OpGt: true, OpGe: true, OpLt: true, OpLe: true, OpEq: true}

// Windowed reports whether the rule aggregates over time windows.
func (r *Rule) Windowed() bool { return r.Window != nil }

// Plain reports whether the rule is a plain running count: no window, no group_by, count
// with ">=". The live evaluator keeps such rules in its cheapest state (one integer per
// customer); every other rule is kept per group and window.
func (r *Rule) Plain() bool {
	return r.Window == nil && len(r.GroupBy) == 0 && (r.Aggregate.Fn == "" || r.Aggregate.Fn == AggCount) && r.Threshold.plain()
}

// GroupPaths are the compiled group_by paths of a validated rule.
func (r *Rule) GroupPaths() []*jsonpath.Path { return r.groupPaths }

// AggregatePath is the compiled aggregate.path of a validated rule (nil for count).
func (r *Rule) AggregatePath() *jsonpath.Path { return r.Aggregate.path }

// TimePath is the compiled time path of a validated rule (nil: the record timestamp).
func (r *Rule) TimePath() *jsonpath.Path { return r.timePath }

// validateAggregation checks group_by, aggregate, window, time, lateness, threshold and
// limits, compiles their paths and fills defaults (aggregate count, window.every).
func (r *Rule) validateAggregation(lim Limits, errs *ValidationError) {
	r.groupPaths = nil
	if len(r.GroupBy) > lim.MaxGroupBy {
		errs.addLimit("group_by", 0, LimitGroupBy, overLimit("has", len(r.GroupBy), "paths", lim.MaxGroupBy, LimitGroupBy))
	} else {
		for i, text := range r.GroupBy {
			field := fmt.Sprintf("group_by[%d]", i)
			// An alert's group object is keyed by path text: a repeated path would
			// lose one of its values there (and only split groups by nothing).
			if j := slices.Index(r.GroupBy[:i], text); j >= 0 {
				errs.add(field, 0, fmt.Sprintf("repeats group_by[%d]", j))
				continue
			}
			if p := compileField(field, text, lim, errs); p != nil {
				r.groupPaths = append(r.groupPaths, p)
			}
		}
	}

	a := &r.Aggregate
	a.path = nil
	switch {
	case a.Fn == "" || a.Fn == AggCount:
		a.Fn = AggCount
		if a.Path != "" {
			errs.add("aggregate.path", 0, "count takes no path; count_distinct, sum, min, max and avg do")
		}
	case a.Fn == "distinct":
		errs.add("aggregate.fn", 0, `unknown aggregation "distinct"; did you mean count_distinct?`)
	case !aggFns[a.Fn]:
		errs.add("aggregate.fn", 0, fmt.Sprintf("unknown aggregation %s; one of count, count_distinct, sum, min, max, avg", quoted(a.Fn)))
	case a.Path == "":
		errs.add("aggregate.path", 0, fmt.Sprintf("is required for %s", a.Fn))
	default:
		a.path = compileField("aggregate.path", a.Path, lim, errs)
	}

	if w := r.Window; w != nil {
		if w.Every == 0 {
			w.Every = w.Size
		}
		switch {
		case w.Size <= 0:
			errs.add("window.size", 0, "must be positive")
		case time.Duration(w.Size)%time.Millisecond != 0:
			errs.add("window.size", 0, "must be whole milliseconds")
		case w.Size > lim.MaxLookback:
			errs.addLimit("window.size", 0, LimitLookback, fmt.Sprintf("%s is longer than %s (limit %s)", w.Size, lim.MaxLookback, LimitLookback))
		case w.Every <= 0:
			errs.add("window.every", 0, "must be positive")
		case time.Duration(w.Every)%time.Millisecond != 0:
			errs.add("window.every", 0, "must be whole milliseconds")
		case w.Size%w.Every != 0:
			errs.add("window.every", 0, fmt.Sprintf("%s does not divide window.size %s: size must be a multiple of every", w.Every, w.Size))
		case w.Overlap() > int64(lim.MaxWindowOverlap):
			errs.addLimit("window.every", 0, LimitWindowOverlap, fmt.Sprintf("an event would fall in %d windows (size/every); at most %d (limit %s)", w.Overlap(), lim.MaxWindowOverlap, LimitWindowOverlap))
		}
	}
	r.timePath = nil
	if r.Time != "" {
		if r.Window == nil {
			errs.add("time", 0, "applies to windows only; a rule without window counts every event since its lookback")
		} else {
			r.timePath = compileField("time", r.Time, lim, errs)
		}
	}
	switch {
	case r.Lateness < 0:
		errs.add("lateness", 0, "must not be negative")
	case r.Lateness > 0 && r.Window == nil:
		errs.add("lateness", 0, "applies to windows only")
	case time.Duration(r.Lateness)%time.Millisecond != 0:
		errs.add("lateness", 0, "must be whole milliseconds")
	case r.Lateness > lim.MaxLookback:
		errs.addLimit("lateness", 0, LimitLookback, fmt.Sprintf("%s is longer than %s (limit %s)", r.Lateness, lim.MaxLookback, LimitLookback))
	case r.Window != nil && r.Window.Every > 0 && r.Window.Size > 0 && r.Window.Size <= lim.MaxLookback &&
		r.Window.Overlap() <= int64(lim.MaxWindowOverlap) && // else window.every says so
		(int64(r.Window.Size)+int64(r.Lateness))/int64(r.Window.Every) > int64(lim.MaxOpenWindows):
		errs.addLimit("lateness", 0, LimitOpenWindows, fmt.Sprintf("with window.size %s and window.every %s, a group would keep %d windows open ((size + lateness) / every); at most %d (limit %s): shorten the lateness or widen window.every",
			r.Window.Size, r.Window.Every, (int64(r.Window.Size)+int64(r.Lateness))/int64(r.Window.Every), lim.MaxOpenWindows, LimitOpenWindows))
	}

	t := &r.Threshold
	// An absent threshold (the zero Threshold: decoding always sets Op) would be ">= 0",
	// which every count and most sums pass at their first event. A plain count says so
	// below ("must be at least 1"), as it always has.
	missing := t.Op == "" && t.Value == 0
	if t.Op == "" {
		t.Op = OpGe
	}
	switch {
	case missing && !r.Plain():
		errs.add("threshold", 0, "is required")
	case !thresholdOps[t.Op]:
		errs.add("threshold.op", 0, fmt.Sprintf("unknown operator %s; one of >, >=, <, <=, ==", quoted(string(t.Op))))
	case math.IsNaN(t.Value):
		errs.add("threshold", 0, "is not a number")
	case math.Abs(t.Value) > MaxSafeInteger:
		errs.add("threshold", 0, beyondSafe(strconv.FormatFloat(t.Value, 'f', -1, 64)))
	case r.Plain() && t.Value < 1:
		errs.add("threshold", 0, "must be at least 1")
	case r.Plain() && t.Value != math.Trunc(t.Value):
		errs.add("threshold", 0, "a count's threshold must be a whole number")
	}

	if l := r.Limits; l != nil && *l == (RuleLimits{}) {
		r.Limits = nil // limits: {} is no override: encode (and fingerprint) as without
	} else if l != nil {
		switch {
		case l.MaxGroups < 0:
			errs.add("limits.max_groups", 0, "must not be negative")
		case l.MaxGroups > lim.MaxRuleGroups:
			errs.addLimit("limits.max_groups", 0, LimitRuleGroups, fmt.Sprintf("%d groups; at most %d (limit %s)", l.MaxGroups, lim.MaxRuleGroups, LimitRuleGroups))
		}
		switch {
		case l.MaxDistinct < 0:
			errs.add("limits.max_distinct", 0, "must not be negative")
		case l.MaxDistinct > lim.MaxRuleDistinct:
			errs.addLimit("limits.max_distinct", 0, LimitRuleDistinct, fmt.Sprintf("%d distinct values; at most %d (limit %s)", l.MaxDistinct, lim.MaxRuleDistinct, LimitRuleDistinct))
		}
		if l.MaxDistinct > 0 && r.Aggregate.Fn != AggCountDistinct {
			errs.add("limits.max_distinct", 0, "applies to count_distinct only")
		}
	}
	r.contextPaths = nil
	if a := r.Alert; a != nil && a.Severity == "" && len(a.Context) == 0 && a.Suppress == nil && !a.Resolve && len(a.Notify) == 0 {
		r.Alert = nil // alert: {} is the default: encode (and fingerprint) as without
	} else if a != nil {
		if a.Severity != "" && !slices.Contains(Severities, a.Severity) {
			errs.add("alert.severity", 0, fmt.Sprintf("%s: want one of %s", quoted(a.Severity), strings.Join(Severities, ", ")))
		}
		if d := a.Suppress; d != nil {
			switch {
			case r.Window == nil:
				errs.add("alert.suppress", 0, "applies to windows only: a rule without window alerts once per group")
			case *d < 0:
				errs.add("alert.suppress", 0, "must not be negative")
			case time.Duration(*d)%time.Millisecond != 0:
				errs.add("alert.suppress", 0, "must be whole milliseconds")
			case *d > lim.MaxLookback:
				errs.addLimit("alert.suppress", 0, LimitLookback, fmt.Sprintf("%s is longer than %s (limit %s)", *d, lim.MaxLookback, LimitLookback))
			}
		}
		if a.Resolve && r.Window == nil {
			errs.add("alert.resolve", 0, "applies to windows only: a running total never closes, so it never resolves")
		}
		if len(a.Notify) > lim.MaxNotify {
			errs.addLimit("alert.notify", 0, LimitNotify, overLimit("names", len(a.Notify), "destinations", lim.MaxNotify, LimitNotify))
		}
		for i, name := range a.Notify {
			if !idPattern.MatchString(name) {
				errs.add(fmt.Sprintf("alert.notify[%d]", i), 0, fmt.Sprintf("%s is not a destination name (letters, digits, '.', '_', ':', '@', '-'; at most 128)", quoted(name)))
			} else if slices.Index(a.Notify, name) < i {
				errs.add(fmt.Sprintf("alert.notify[%d]", i), 0, fmt.Sprintf("%q is named twice", name))
			}
		}
		if len(a.Context) > lim.MaxContext {
			errs.addLimit("alert.context", 0, LimitContext, overLimit("has", len(a.Context), "paths", lim.MaxContext, LimitContext))
		} else {
			for i, text := range a.Context {
				field := fmt.Sprintf("alert.context[%d]", i)
				p := compileField(field, text, lim, errs)
				if p != nil && !p.Singular() {
					errs.add(field, 0, "must select at most one value (names and indexes only): an alert holds one value per path")
					p = nil
				}
				if p != nil {
					r.contextPaths = append(r.contextPaths, p)
				}
			}
		}
	}
	if b := r.Backfill; b != nil && *b == (BackfillOptions{}) {
		r.Backfill = nil // backfill: {} is the default: encode (and fingerprint) as without
	} else if b != nil && b.Alert && r.Plain() {
		errs.add("backfill.alert", 0, "applies to rules with a window, group_by, another aggregate or threshold operator: a plain count always sends the alert its history crossed")
	}
}

// compileField parses the JSONPath text of field under lim, adding a positioned problem
// (nil result) when it is invalid.
func compileField(field, text string, lim Limits, errs *ValidationError) *jsonpath.Path {
	p, err := compilePath(text, lim)
	if err != nil {
		var le *leafError
		if errors.As(err, &le) {
			errs.add(field, le.column, le.msg)
		} else {
			errs.add(field, 0, err.Error())
		}
		return nil
	}
	return p
}

// BackfillOptions are a rule's choices for the history it is handed (see the package
// comment).
type BackfillOptions struct {
	// Alert sends the alerts of crossings in history, with source "backfill".
	Alert bool `json:"alert,omitempty"`
}

// AlertOptions say how a rule's alerts read (see the package comment).
type AlertOptions struct {
	// Severity is one of Severities; empty is SeverityMedium.
	Severity string `json:"severity,omitempty"`
	// Context are singular JSONPaths whose values in the crossing event the alert
	// carries (at most max_rule_context).
	Context []string `json:"context,omitempty"`
	// Suppress (windows only) is how long, in event time, a (customer, group) that
	// alerted raises no other alert; nil is the window's size, zero none.
	Suppress *Duration `json:"suppress,omitempty"`
	// Resolve (windows only) sends a resolved record when the incident ends: it closes
	// in event time, or the rule version that opened it is replaced or deleted.
	Resolve bool `json:"resolve,omitempty"`
	// Notify names the destinations that receive the rule's alerts (at most
	// max_rule_notify).
	Notify []string `json:"notify,omitempty"`
}

// SuppressFor is how long a windowed rule's (customer, group) raises no other alert
// after one: alert.suppress, or the window's size. Zero for a rule without window.
func (r *Rule) SuppressFor() time.Duration {
	switch {
	case r.Window == nil:
		return 0
	case r.Alert != nil && r.Alert.Suppress != nil:
		return time.Duration(*r.Alert.Suppress)
	}
	return time.Duration(r.Window.Size)
}

// Resolves reports whether r sends resolved records.
func (r *Rule) Resolves() bool { return r.Alert != nil && r.Alert.Resolve }

// NotifyNames are the destinations r's alerts go to.
func (r *Rule) NotifyNames() []string {
	if r.Alert == nil {
		return nil
	}
	return r.Alert.Notify
}

// ContextPaths are the compiled alert.context paths of a validated rule, in order.
func (r *Rule) ContextPaths() []*jsonpath.Path { return r.contextPaths }

// Severities rank alerts, least urgent first.
var Severities = []string{"info", "low", SeverityMedium, "high", "critical"}

// SeverityMedium is the severity of a rule that names none.
const SeverityMedium = "medium"

// Severity is the severity of r's alerts.
func (r *Rule) Severity() string {
	if r.Alert == nil || r.Alert.Severity == "" {
		return SeverityMedium
	}
	return r.Alert.Severity
}

// RuleLimits overrides, for one rule, the evaluator's limits on its state (zero: the
// evaluator's defaults, set by its flags).
type RuleLimits struct {
	// MaxGroups is the most groups the rule keeps per customer partition.
	MaxGroups int64 `json:"max_groups,omitempty"`
	// MaxDistinct is the most distinct values a count_distinct window keeps.
	MaxDistinct int64 `json:"max_distinct,omitempty"`
}

// Paths returns every path the rule reads — its condition's tests, group_by, time, the
// aggregated field and alert.context — deduplicated by canonical form, in that order. The archiver
// types them (lakehouse.ColumnSet) so that history queries read values, not JSON.
func (r *Rule) Paths() []*jsonpath.Path {
	var out []*jsonpath.Path
	seen := map[string]bool{}
	add := func(p *jsonpath.Path) {
		if p != nil && !seen[p.String()] {
			seen[p.String()] = true
			out = append(out, p)
		}
	}
	var walk func(c *Condition)
	walk = func(c *Condition) {
		if c == nil {
			return
		}
		for _, s := range c.All {
			walk(s)
		}
		for _, s := range c.Any {
			walk(s)
		}
		walk(c.Not)
		add(c.CompiledPath())
	}
	walk(r.When)
	for _, p := range r.groupPaths {
		add(p)
	}
	add(r.timePath)
	add(r.Aggregate.path)
	for _, p := range r.contextPaths {
		add(p)
	}
	return out
}
