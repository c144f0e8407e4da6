package rulecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// valueTolerance is how far, relative to the larger, a raised alert's value may be
// from an expected one and still match: an average's last digits depend on the order
// of additions, which a test's author should not have to reproduce.
const valueTolerance = 1e-9

// Result is the outcome of one test of a rules file.
type Result struct {
	Test *rule.RuleTest
	// Alerts are the alerts the events raised, in order.
	Alerts []contract.Alert
	// Problems say why the test failed, each on one line; none: it passed.
	Problems []string
	// Matched counts the events the rule's condition matched; Stats are the window
	// state's counters (zero for a plain count).
	Matched int
	Stats   window.Stats
}

// Run runs one test with the evaluator live runs (window.Replay over a set
// holding just the rule): the events in order in one partition, at offsets 0, 1, …,
// with the test's record times, and compares the alerts raised with what it expects.
// file names the rules file in problems.
func Run(file string, t *rule.RuleTest) Result {
	res := Result{Test: t}
	set, err := rule.NewSet([]*rule.Rule{t.Rule})
	if err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("indexing the rule: %v", err))
		return res
	}
	replay := window.NewReplay(set, window.Limits{})
	// A second matcher over the same set counts matches, for the report: Replay
	// keeps them to itself.
	m := set.NewMatcher()
	var crossings []window.Result
	var matched []*rule.Rule
	var cut []string
	for i, ev := range t.Events {
		// A document per event: the state may keep values that alias its bytes.
		doc := jsonpath.NewDocument()
		if err := doc.Reset(ev); err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("%s:%d: events[%d]: %v", file, t.Line, i, err))
			continue
		}
		if matched = m.Match(t.Customer, doc, matched[:0]); len(matched) > 0 {
			res.Matched++
		}
		at := t.RecordTimeOf(i)
		before := doc.BudgetExceeded() // the match above repeats the replay's
		crossings = replay.Add(int64(i), t.Customer, doc, at, crossings[:0])
		if n := doc.BudgetExceeded() - before; n > 0 {
			cut = append(cut, fmt.Sprintf("%s:%d: events[%d]: %d evaluations of the rule's paths ran out of their work budget (--max-rule-eval-work): the rule may have missed the event, as live would",
				file, t.Line, i, n))
		}
		for _, c := range crossings {
			a, err := window.Alert(c.Rule, c.Crossing, 0, int64(i), at, contract.SourceTest)
			if err != nil {
				res.Problems = append(res.Problems, fmt.Sprintf("events[%d]: making the alert: %v", i, err))
				continue
			}
			res.Alerts = append(res.Alerts, a)
		}
	}
	if !t.Rule.Plain() {
		res.Stats = replay.State(t.Rule).Stats()
	}
	if problems := Compare(file, t.Expect, res.Alerts); len(problems) > 0 {
		// What may explain them; a test that passes all the same does not fail for it.
		res.Problems = append(append(res.Problems, problems...), cut...)
	}
	return res
}

// Compare says how alerts differ from what exp expects: the number, and each
// listed alert that no raised alert matches. Listed alerts are matched to raised ones
// one to one (a maximum bipartite matching), so that an alert written loosely ({}) does
// not take the one a stricter entry needs.
func Compare(file string, exp rule.TestExpect, alerts []contract.Alert) []string {
	var problems []string
	if len(alerts) != exp.Alerts {
		problems = append(problems, fmt.Sprintf("%s:%d: want %s, got %d", file, exp.Line, countOf(exp.Alerts, "alert"), len(alerts)))
	}
	if exp.List == nil {
		return problems
	}
	// owner[j] is the listed alert that raised alert j is matched to, or -1.
	owner := make([]int, len(alerts))
	for j := range owner {
		owner[j] = -1
	}
	var augment func(k int, seen []bool) bool
	augment = func(k int, seen []bool) bool {
		for j := range alerts {
			if seen[j] || !alertMatches(exp.List[k], &alerts[j]) {
				continue
			}
			seen[j] = true
			if owner[j] < 0 || augment(owner[j], seen) {
				owner[j] = k
				return true
			}
		}
		return false
	}
	for k, want := range exp.List {
		if !augment(k, make([]bool, len(alerts))) {
			problems = append(problems, fmt.Sprintf("%s:%d: expect.alerts[%d] %s matches none of the alerts raised%s",
				file, want.Line, k, describeExpected(want), unlessTaken(k, want, alerts, owner)))
		}
	}
	return problems
}

// unlessTaken explains an unmatched listed alert that does match a raised alert: the
// one-to-one matching gave that alert to another entry.
func unlessTaken(k int, want rule.ExpectedAlert, alerts []contract.Alert, owner []int) string {
	for j := range alerts {
		if alertMatches(want, &alerts[j]) && owner[j] >= 0 && owner[j] != k {
			return fmt.Sprintf(" (alert %d matches, but is expect.alerts[%d]'s)", j+1, owner[j])
		}
	}
	return ""
}

// alertMatches reports whether a matches every field want gives: group values as JSON
// values (the rule language's equality), value as a number, window start as a time.
func alertMatches(want rule.ExpectedAlert, a *contract.Alert) bool {
	for path, v := range want.Group {
		got, ok := a.Group[path]
		if !ok || !jsonEqual(v, got) {
			return false
		}
	}
	if want.Value != nil {
		x, y := *want.Value, a.Value
		if math.Abs(x-y) > valueTolerance*math.Max(1, math.Max(math.Abs(x), math.Abs(y))) {
			return false
		}
	}
	if want.WindowStart != nil && (a.WindowStart == nil || !a.WindowStart.Equal(*want.WindowStart)) {
		return false
	}
	for path, v := range want.Context {
		got, ok := a.Context[path]
		if !ok || !jsonEqual(v, got) {
			return false
		}
	}
	return want.Status == "" || want.Status == a.Status
}

// jsonEqual compares two JSON texts as the rule language compares values: by their
// canonical keys (window.AppendValueKey), as groups are told apart.
func jsonEqual(a, b []byte) bool {
	da, db := jsonpath.NewDocument(), jsonpath.NewDocument()
	if da.Reset(a) != nil || db.Reset(b) != nil {
		return false
	}
	return bytes.Equal(window.AppendValueKey(nil, da.Root()), window.AppendValueKey(nil, db.Root()))
}

// describeExpected writes a listed alert as it was written: {group: …, value: …}.
func describeExpected(want rule.ExpectedAlert) string {
	var parts []string
	if want.Group != nil {
		parts = append(parts, "group: "+compactJSON(want.Group))
	}
	if want.Value != nil {
		parts = append(parts, "value: "+formatValue(*want.Value))
	}
	if want.WindowStart != nil {
		parts = append(parts, "window_start: "+want.WindowStart.Format(time.RFC3339Nano))
	}
	if want.Context != nil {
		parts = append(parts, "context: "+compactJSON(want.Context))
	}
	if want.Status != "" {
		parts = append(parts, "status: "+want.Status)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// DescribeAlert writes a raised alert on one line: what a test can expect of it. The
// customer, and the group's and context's JSON, are shown quoted (shown, shownJSON)
// when they hold a character that could break the line or reach the terminal as an
// escape.
func DescribeAlert(a *contract.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "customer %s", shown.Text(a.Customer))
	if a.Group != nil {
		fmt.Fprintf(&b, "  group %s", shown.JSON(compactJSON(a.Group)))
	}
	if a.WindowStart != nil && a.WindowEnd != nil {
		fmt.Fprintf(&b, "  window [%s, %s)", a.WindowStart.Format(time.RFC3339Nano), a.WindowEnd.Format(time.RFC3339Nano))
	}
	fmt.Fprintf(&b, "  value %s", formatValue(a.Value))
	if a.Aggregate != rule.AggCount {
		fmt.Fprintf(&b, " (%s of %s)", a.Aggregate, countOf(int(a.Count), "event"))
	}
	if a.Status == contract.StatusResolved {
		fmt.Fprintf(&b, "  resolved by events[%d]", a.Offset)
	} else {
		fmt.Fprintf(&b, "  raised by events[%d]", a.Offset)
	}
	if a.Context != nil {
		fmt.Fprintf(&b, "  context %s", shown.JSON(compactJSON(a.Context)))
	}
	return b.String()
}

// compactJSON writes v as compact JSON with sorted keys and no HTML escaping.
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// formatValue writes v as the alert record and a notification body do
// (contract.AppendJSONFloat), so a rule's author sees one text for one value: strconv's
// 'g' went to exponent form from 7 digits (1.234567e+06 for the record's 1234567).
func formatValue(v float64) string { return string(contract.AppendJSONFloat(nil, v)) }

// countOf writes n with its noun, in the plural unless n is 1.
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
