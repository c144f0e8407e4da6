package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// rulesTestConfig configures `hindsight rules test`.
type rulesTestConfig struct {
	// RulesFile is a rules file (YAML or JSON). Required.
	RulesFile string
	// Events is NDJSON, one event per line. Required.
	Events io.Reader
	// EventsName names Events in messages. Default "events".
	EventsName string
	// CustomerPath selects each event's customer id. Default "$.customer".
	CustomerPath string
	// Customer, when set, is every event's customer and CustomerPath is not used.
	Customer string
	// JSON prints one JSON object per event instead of text.
	JSON bool
	// Out receives the report. Default os.Stdout.
	Out io.Writer
}

// rulesTestSummary is what runRulesTest counted.
type rulesTestSummary struct {
	Events  int
	Invalid int
	// Counts is per rule key and customer the number of matching events.
	Counts map[rule.Key]map[string]int64
}

// errNoCustomer is reported for an event whose customer cannot be told.
var errNoCustomer = errors.New("rule: event has no customer")

// runRulesTest evaluates every rule of a rules file against every event of an NDJSON stream,
// as the live evaluator would, and prints which rules each event satisfies, then per
// rule the matching events and the customers whose count reaches the threshold. Invalid
// event lines are reported and skipped; an invalid rules file is an error.
func runRulesTest(ctx context.Context, cfg rulesTestConfig) (*rulesTestSummary, error) {
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.EventsName == "" {
		cfg.EventsName = "events"
	}
	if cfg.CustomerPath == "" {
		cfg.CustomerPath = "$.customer"
	}
	rules, err := rule.ReadRulesFile(cfg.RulesFile)
	if err != nil {
		return nil, err
	}
	set, err := rule.NewSet(rules)
	if err != nil {
		return nil, err
	}
	custPath, err := jsonpath.Parse(cfg.CustomerPath)
	if err != nil {
		return nil, fmt.Errorf("customer path: %w", err)
	}
	sum := &rulesTestSummary{Counts: map[rule.Key]map[string]int64{}}
	m := set.NewMatcher()
	doc := jsonpath.NewDocument()
	var matched []*rule.Rule
	var vals []jsonpath.Value
	enc := json.NewEncoder(cfg.Out)
	sc := bufio.NewScanner(cfg.Events)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		sum.Events++
		report := func(customer string, matched []*rule.Rule, problem error) {
			if cfg.JSON {
				ids := make([]string, 0, len(matched))
				for _, r := range matched {
					ids = append(ids, r.Key().String())
				}
				rec := map[string]any{"line": line, "customer": customer, "rules": ids}
				if problem != nil {
					rec["error"] = problem.Error()
				}
				_ = enc.Encode(rec)
				return
			}
			if problem != nil {
				fmt.Fprintf(cfg.Out, "%s:%d: skipped: %v\n", cfg.EventsName, line, problem)
				return
			}
			names := make([]string, 0, len(matched))
			for _, r := range matched {
				names = append(names, fmt.Sprintf("%s@v%d", r.Key(), r.Version))
			}
			if len(names) == 0 {
				names = []string{"(none)"}
			}
			fmt.Fprintf(cfg.Out, "%s:%d: customer %s: %s\n", cfg.EventsName, line, customer, strings.Join(names, ", "))
		}
		if err := doc.Reset([]byte(text)); err != nil {
			sum.Invalid++
			report("", nil, err)
			continue
		}
		customer := cfg.Customer
		if customer == "" {
			vals = custPath.Eval(doc, vals[:0])
			if len(vals) != 1 || vals[0].Kind() != jsonpath.KindString || vals[0].Str() == "" {
				sum.Invalid++
				report("", nil, fmt.Errorf("%w at %s", errNoCustomer, cfg.CustomerPath))
				continue
			}
			customer = vals[0].Str()
		}
		matched = m.Match(customer, doc, matched[:0])
		slices.SortFunc(matched, func(a, b *rule.Rule) int { return strings.Compare(a.Key().String(), b.Key().String()) })
		for _, r := range matched {
			c := sum.Counts[r.Key()]
			if c == nil {
				c = map[string]int64{}
				sum.Counts[r.Key()] = c
			}
			c[customer]++
		}
		report(customer, matched, nil)
	}
	if err := sc.Err(); err != nil {
		return sum, fmt.Errorf("reading %s: %w", cfg.EventsName, err)
	}
	if !cfg.JSON {
		printRulesTestSummary(cfg.Out, set, sum)
	}
	return sum, nil
}

func printRulesTestSummary(out io.Writer, set *rule.Set, sum *rulesTestSummary) {
	fmt.Fprintf(out, "\n%d events (%d skipped), %d rules\n", sum.Events, sum.Invalid, set.Len())
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tVERSION\tTHRESHOLD\tMATCHES\tCUSTOMERS AT THRESHOLD")
	for _, r := range set.Rules() {
		var total int64
		var alerting []string
		for c, n := range sum.Counts[r.Key()] {
			total += n
			if r.Threshold.Holds(float64(n)) {
				alerting = append(alerting, fmt.Sprintf("%s (%d)", c, n))
			}
		}
		slices.Sort(alerting)
		if len(alerting) == 0 {
			alerting = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", r.Key(), r.Version, r.Threshold, total, strings.Join(alerting, ", "))
	}
	tw.Flush()
}
