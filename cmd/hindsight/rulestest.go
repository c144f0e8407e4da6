package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/rulecheck"
	"github.com/hindsightdev/hindsight/window"
)

// rulesTestConfig configures `hindsight rules test`.
type rulesTestConfig struct {
	// RulesFile is a rules file (YAML or JSON). Required.
	RulesFile string
	// Rules, when not nil, are RulesFile's rules, already read (its tests are run
	// apart, by runRuleTests).
	Rules []*rule.Rule
	// Events is NDJSON, one event per line. Required.
	Events io.Reader
	// EventsName names Events in messages. Default "events".
	EventsName string
	// CustomerPath selects each event's customer id. Default rulecheck.DefaultCustomerPath.
	CustomerPath string
	// Customer, when set, is every event's customer and CustomerPath is not used.
	Customer string
	// KeySeparator, when set, makes each line KEY<sep>JSON (as kcat -K and hindsight
	// produce --key-separator take them): the key is the customer.
	KeySeparator string
	// Limits bound the events' windowed and grouped state as live's flags do (the
	// rules' tests: blocks keep window.DefaultLimits, so that they pass or fail alike
	// wherever they run).
	Limits window.Limits
	// MaxCustomers bounds the customers one rule's counts and alerts in the summary
	// hold (rulecheck.StreamConfig.MaxCustomers).
	MaxCustomers int
	// MaxLineBytes is the longest event line read (lines.DefaultMax when 0).
	MaxLineBytes int
	// JSON prints one JSON object per event instead of text.
	JSON bool
	// Out receives the report. Default os.Stdout.
	Out io.Writer
}

// errAllSkipped fails a rules test run whose every event was skipped.
var errAllSkipped = errors.New("no event evaluated")

// runRulesTest evaluates every rule of a rules file against every event of an NDJSON
// stream, as the live evaluator would (rulecheck.Stream), and prints which rules each
// event satisfies, then per rule the matching events and the customers whose count
// reaches the threshold. Invalid event lines are reported and skipped; an invalid
// rules file is an error.
func runRulesTest(ctx context.Context, cfg rulesTestConfig) (*rulecheck.Summary, error) {
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.EventsName == "" {
		cfg.EventsName = "events"
	}
	rules := cfg.Rules
	if rules == nil {
		var err error
		if rules, err = rule.ReadRulesFile(cfg.RulesFile); err != nil {
			return nil, err
		}
	}
	enc := json.NewEncoder(cfg.Out)
	report := func(l *rulecheck.Line) {
		if cfg.JSON {
			ids := make([]string, 0, len(l.Matched))
			for _, r := range l.Matched {
				ids = append(ids, r.Key().String())
			}
			rec := map[string]any{"line": l.Number, "customer": l.Customer, "rules": ids}
			if l.Err != nil {
				rec["error"] = l.Err.Error()
			}
			if l.CutShort > 0 {
				rec["eval_cut_short"] = l.CutShort
			}
			_ = enc.Encode(rec)
			return
		}
		if l.Err != nil {
			fmt.Fprintf(cfg.Out, "%s:%d: skipped: %v\n", cfg.EventsName, l.Number, l.Err)
			return
		}
		names := make([]string, 0, len(l.Matched))
		for _, r := range l.Matched {
			names = append(names, fmt.Sprintf("%s@v%d", shown.Text(r.Key().String()), r.Version))
		}
		if len(names) == 0 {
			names = []string{"(none)"}
		}
		cut := ""
		if l.CutShort > 0 {
			cut = fmt.Sprintf(" (%s of rule paths ran out of their work budget, --max-rule-eval-work: a rule may have missed this event, as live would)",
				plural(l.CutShort, "evaluation"))
		}
		fmt.Fprintf(cfg.Out, "%s:%d: customer %s: %s%s\n", cfg.EventsName, l.Number, shown.Text(l.Customer), strings.Join(names, ", "), cut)
	}
	sum, err := rulecheck.Stream(ctx, rulecheck.StreamConfig{Rules: rules, Events: cfg.Events, EventsName: cfg.EventsName,
		CustomerPath: cfg.CustomerPath, Customer: cfg.Customer, KeySeparator: cfg.KeySeparator, Limits: cfg.Limits, MaxLineBytes: cfg.MaxLineBytes,
		MaxCustomers: cfg.MaxCustomers}, report)
	// Stopped by a signal (ctx), the lines read are reported as a finished run's, and
	// the error after them says where it stopped: it had waited on an idle pipe until
	// the input ended, then reported in full with exit status 0, the signal lost.
	stopped := err != nil && sum != nil && ctx.Err() != nil
	if err != nil && !stopped {
		return sum, err
	}
	if !cfg.JSON {
		set, err := rule.NewSet(rules)
		if err != nil {
			return sum, err
		}
		printRulesTestSummary(cfg.Out, set, sum, cfg.MaxCustomers)
	} else {
		// After the lines, a record per rule a limit degraded, as live's rule view, or
		// whose windows did not count some of its matches (late, no usable time), with
		// backtest's names for them.
		keys := map[rule.Key]bool{}
		for k := range sum.Degraded {
			keys[k] = true
		}
		for k, st := range sum.Stats {
			if st.Late > 0 || st.TimeErrors > 0 {
				keys[k] = true
			}
		}
		for k := range sum.Cut {
			keys[k] = true
		}
		for _, k := range slices.SortedFunc(maps.Keys(keys), func(a, b rule.Key) int { return strings.Compare(a.String(), b.String()) }) {
			rec := map[string]any{"rule": k.String()}
			if why := sum.Degraded[k]; why != "" {
				rec["degraded"] = why
			}
			if st := sum.Stats[k]; st.Late > 0 || st.TimeErrors > 0 {
				rec["late"], rec["time_errors"] = st.Late, st.TimeErrors
			}
			if c, ok := sum.Cut[k]; ok {
				rec["max_customers_reached"] = true
				rec["matches_not_counted"], rec["alerts_not_counted"] = c.Matches, c.Alerts
			}
			_ = enc.Encode(rec)
		}
	}
	if stopped {
		return sum, fmt.Errorf("%w; the report is of the lines before it", err)
	}
	return sum, nil
}

func printRulesTestSummary(out io.Writer, set *rule.Set, sum *rulecheck.Summary, maxCustomers int) {
	if maxCustomers == 0 {
		maxCustomers = rulecheck.DefaultMaxCustomers
	}
	fmt.Fprintf(out, "\n%s (%d skipped), %s\n", plural(sum.Events, "event"), sum.Invalid, plural(set.Len(), "rule"))
	for _, why := range slices.Sorted(maps.Keys(sum.Skipped)) {
		fmt.Fprintf(out, "skipped %s: %s\n", plural(sum.Skipped[why], "event"), why)
	}
	if sum.CutShort > 0 {
		fmt.Fprintf(out, "%s had rule path evaluations cut short by their work budget (--max-rule-eval-work): rules may have missed them, as live would\n",
			plural(sum.CutShort, "event"))
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tVERSION\tTHRESHOLD\tMATCHES\tCUSTOMERS AT THRESHOLD")
	for _, r := range set.Rules() {
		// The matches of customers past --max-customers are in the total, which stays
		// whole; only the listing per customer is cut. Of a degraded plain count both
		// are what live counted (rulecheck's finish), so MATCHES does not depend on
		// the bound.
		total := sum.Cut[r.Key()].Matches
		var alerting []string
		for c, n := range sum.Counts[r.Key()] {
			total += n
			if r.Plain() && r.Threshold.Holds(float64(n)) {
				alerting = append(alerting, fmt.Sprintf("%s (%d)", shown.Text(c), n))
			}
		}
		// A rule kept per group and window alerts per window: its customers are
		// those the evaluator raised alerts for, with how many.
		for c, n := range sum.Alerts[r.Key()] {
			alerting = append(alerting, fmt.Sprintf("%s (%s)", shown.Text(c), plural(n, "alert")))
		}
		slices.Sort(alerting)
		if len(alerting) == 0 {
			alerting = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", shown.Text(r.Key().String()), r.Version, r.Threshold, total, strings.Join(alerting, ", "))
	}
	tw.Flush()
	for _, r := range set.Rules() {
		// Matches its windows did not count, in backtest's words: live counts them too
		// (hindsight_late_events_total, hindsight_event_time_errors_total), and without
		// them an alert the matches seem to call for is missing unexplained.
		if st := sum.Stats[r.Key()]; st.Late > 0 || st.TimeErrors > 0 {
			fmt.Fprintf(out, "%s: not counted: %d late, %d without a usable time (among its matches above; live leaves them out too)\n",
				shown.Text(r.Key().String()), st.Late, st.TimeErrors)
		}
		if why := sum.Degraded[r.Key()]; why != "" {
			fmt.Fprintf(out, "%s is degraded, as live would show it: %s; its alerts above are a lower bound\n", shown.Text(r.Key().String()), why)
		}
		if c, ok := sum.Cut[r.Key()]; ok {
			// A windowed rule's customers at threshold are its alerts': of its
			// matches only the total is shown, and that is whole.
			if c.Matches > 0 && r.Plain() {
				// A degraded count's MATCHES, and these, are what live counted
				// (rulecheck.Cut), whatever --max-customers cut.
				asLive := ""
				if sum.Degraded[r.Key()] != "" {
					asLive = ", as live counted them"
				}
				fmt.Fprintf(out, "%s: --max-customers (%d) reached: %s of other customers not counted (MATCHES has them%s): the counts listed are whole, customers beyond them at the threshold are missing\n",
					shown.Text(r.Key().String()), maxCustomers, matches(c.Matches), asLive)
			}
			if c.Alerts > 0 {
				fmt.Fprintf(out, "%s: --max-customers (%d) reached: %s of other customers not listed: the customers listed are whole, others are missing\n",
					shown.Text(r.Key().String()), maxCustomers, plural(c.Alerts, "alert"))
			}
		}
	}
}

func plural[N ~int | ~int64](n N, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// matches is plural's for "match".
func matches(n int64) string {
	if n == 1 {
		return "1 match"
	}
	return fmt.Sprintf("%d matches", n)
}

// ruleTestsSummary is what runRuleTests counted.
type ruleTestsSummary struct {
	Tests, Failed int
	Results       []rulecheck.Result
}

// testsFailedError says that tests of a rules file failed: exit status 1 for `rules
// test`, as go test's; `rules apply` refuses the file with it.
type testsFailedError struct {
	File          string
	Failed, Tests int
}

func (e *testsFailedError) Error() string {
	return fmt.Sprintf("%s: %d of %s failed", e.File, e.Failed, plural(e.Tests, "rule test"))
}

// Err is nil when every test passed, else a *testsFailedError about file.
func (s *ruleTestsSummary) Err(file string) error {
	if s.Failed == 0 {
		return nil
	}
	return &testsFailedError{File: file, Failed: s.Failed, Tests: s.Tests}
}

// runRuleTests runs every test of every rule of f and reports to out as `go test -v`
// does (see printRuleTests), or as one JSON object when asJSON.
func runRuleTests(f *rule.RulesFile, out io.Writer, asJSON bool) (*ruleTestsSummary, error) {
	sum := &ruleTestsSummary{Tests: len(f.Tests)}
	for _, t := range f.Tests {
		res := rulecheck.Run(f.Name, t)
		if len(res.Problems) > 0 {
			sum.Failed++
		}
		sum.Results = append(sum.Results, res)
	}
	if asJSON {
		return sum, printRuleTestsJSON(out, f, sum)
	}
	return sum, printRuleTests(out, f, sum)
}

// printRuleTests writes the report of sum as `go test -v` would: a RUN and a PASS or
// FAIL line per test, what differed under a failing one (with the alerts raised, what
// a test can expect), then PASS or FAIL and a summary line.
func printRuleTests(out io.Writer, f *rule.RulesFile, sum *ruleTestsSummary) error {
	var b strings.Builder
	if sum.Tests == 0 {
		fmt.Fprintf(&b, "?   %s  [no tests]\n", f.Name)
		_, err := io.WriteString(out, b.String())
		return err
	}
	names := testNames(f)
	for _, res := range sum.Results {
		name := shown.Text(names[res.Test]) // a test's name may hold a line separator, its scope an escape
		fmt.Fprintf(&b, "=== RUN   %s\n", name)
		if len(res.Problems) == 0 {
			fmt.Fprintf(&b, "--- PASS: %s\n", name)
			continue
		}
		fmt.Fprintf(&b, "--- FAIL: %s\n", name)
		for _, p := range res.Problems {
			// A problem quotes the test's expected group and context, JSON whose strings
			// may hold a bidi override or a line separator: escaped, as alerts are.
			fmt.Fprintf(&b, "    %s\n", shown.JSON(p))
		}
		fmt.Fprintf(&b, "    %s\n", eventsLine(&res))
		if len(res.Alerts) == 0 {
			fmt.Fprintf(&b, "    no alerts raised\n")
		} else {
			fmt.Fprintf(&b, "    alerts raised:\n")
			for i := range res.Alerts {
				fmt.Fprintf(&b, "      %d. %s\n", i+1, rulecheck.DescribeAlert(&res.Alerts[i]))
			}
		}
	}
	if sum.Failed > 0 {
		fmt.Fprintf(&b, "FAIL\nFAIL %s  %d of %s failed\n", f.Name, sum.Failed, plural(sum.Tests, "test"))
	} else {
		fmt.Fprintf(&b, "PASS\nok  %s  %s\n", f.Name, plural(sum.Tests, "test"))
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// eventsLine says what became of a failing test's events: how many the condition
// matched, and how many of those did not count (no usable time, late).
func eventsLine(res *rulecheck.Result) string {
	s := fmt.Sprintf("%s, %d matched the rule's condition", plural(len(res.Test.Events), "event"), res.Matched)
	if n := res.Stats.TimeErrors; n > 0 {
		what := "time"
		if p := res.Test.Rule.Time; p != "" {
			what = "time at " + p
		}
		s += fmt.Sprintf(", %d without a usable %s", n, what)
	}
	if n := res.Stats.Late; n > 0 {
		s += fmt.Sprintf(", %d late", n)
	}
	// What a limit dropped, as live counts it (the rule's degraded status).
	if n := res.Stats.GroupsDropped; n > 0 {
		s += fmt.Sprintf(", %d contributions to new groups not counted (limits.max_groups reached)", n)
	}
	if n := res.Stats.DistinctDropped; n > 0 {
		s += fmt.Sprintf(", %d new distinct values not counted (limits.max_distinct reached)", n)
	}
	if n := res.Stats.Overflows; n > 0 {
		s += fmt.Sprintf(", %d values not added (the sum would overflow float64)", n)
	}
	if n := res.Stats.KeysTooLong; n > 0 {
		s += fmt.Sprintf(", %d events not counted (group_by values or count_distinct value longer than --max-key-bytes)", n)
	}
	if n := res.Stats.IncidentsDropped; n > 0 {
		s += fmt.Sprintf(", %d alerts sent without suppression or resolve (open incidents at limits.max_groups)", n)
	}
	return s
}

// testNames names each test RULE-ID/TEST-NAME, or SCOPE/ID/TEST-NAME for a rule whose
// id another rule of the file shares (in another scope).
func testNames(f *rule.RulesFile) map[*rule.RuleTest]string {
	ids := map[string]int{}
	for _, r := range f.Rules {
		ids[r.ID]++
	}
	names := make(map[*rule.RuleTest]string, len(f.Tests))
	for _, t := range f.Tests {
		id := t.Rule.ID
		if ids[id] > 1 {
			id = t.Rule.Key().String()
		}
		names[t] = id + "/" + t.Name
	}
	return names
}

// ruleTestJSON is one test's result in `rules test --json`.
type ruleTestJSON struct {
	Rule     string `json:"rule"`
	Scope    string `json:"scope"`
	Test     string `json:"test"`
	Line     int    `json:"line"`
	Customer string `json:"customer"`
	Pass     bool   `json:"pass"`
	// Problems say why it failed.
	Problems []string `json:"problems,omitempty"`
	// Alerts are the alert records the events raised, as live would publish them
	// (source "test", partition 0, offset the event's index).
	Alerts []json.RawMessage `json:"alerts"`
}

// printRuleTestsJSON writes the results as one JSON object on one line, so that the
// event lines of `rules test --json EVENTS` may follow it as NDJSON.
func printRuleTestsJSON(out io.Writer, f *rule.RulesFile, sum *ruleTestsSummary) error {
	doc := struct {
		File    string         `json:"file"`
		Pass    bool           `json:"pass"`
		Tests   int            `json:"tests"`
		Failed  int            `json:"failed"`
		Results []ruleTestJSON `json:"results"`
	}{File: f.Name, Pass: sum.Failed == 0, Tests: sum.Tests, Failed: sum.Failed, Results: []ruleTestJSON{}}
	for _, res := range sum.Results {
		t := res.Test
		rj := ruleTestJSON{Rule: t.Rule.ID, Scope: t.Rule.Scope, Test: t.Name, Line: t.Line, Customer: t.Customer,
			Pass: len(res.Problems) == 0, Problems: res.Problems, Alerts: []json.RawMessage{}}
		for i := range res.Alerts {
			rj.Alerts = append(rj.Alerts, res.Alerts[i].AppendJSON(nil))
		}
		doc.Results = append(doc.Results, rj)
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
