package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// rawUnsafe are characters a text report must not print raw: ESC starts a terminal
// escape, U+2028 breaks a line, U+202E reverses what follows.
const rawUnsafe = "\x1b\u2028\u2029\u202e"

// TestRulesTestNamesAndAlertsAreShown: a rules file's test names may hold any character
// but a control character (a line separator, a bidi override), a test's customer any
// but *, newline, CR and tab, and `rules test` printed both raw, in its RUN, PASS and
// FAIL lines and in the alerts raised: a name "…\u2028--- PASS: …" forged a line, and
// an escape reached the terminal. They are shown quoted. Not parallel: the command sets
// the process's rule limits.
func TestRulesTestNamesAndAlertsAreShown(t *testing.T) {
	t.Cleanup(func() { _ = rule.SetLimits(rule.DefaultLimits) })
	f := tempFile(t, "r.yaml", `rules:
  - id: r1
    scope: "*"
    when: {path: $.type, op: ==, value: x}
    threshold: 1
    tests:
      - name: "fires\u2028--- PASS: r1/forged"
        customer: "c\x1b[2J"
        events: [{type: x}]
        expect: {alerts: 2}
      - name: "quiet \u202eevil"
        customer: c1
        events: [{type: y}]
        expect: {alerts: 0}
`)
	out, err := run(t, "", "rules", "test", "-f", f)
	if exitCode(err) != 1 {
		t.Fatalf("rules test: exit status %d (%v), want 1 (a test fails)\n%s", exitCode(err), err, out)
	}
	for _, want := range []string{
		"=== RUN   \"r1/fires\\u2028--- PASS: r1/forged\"\n",
		"--- FAIL: \"r1/fires\\u2028--- PASS: r1/forged\"\n",
		"      1. customer \"c\\x1b[2J\"  value 1  raised by events[0]\n",
		"--- PASS: \"r1/quiet \\u202eevil\"\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules test output lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, rawUnsafe) {
		t.Errorf("rules test printed a test name or customer raw:\n%q", out)
	}
}

// TestRulesApplyShowsKeys: a rule's scope is any UTF-8 but *, newline, CR and tab, and
// `rules apply` printed the keys it published, or found unchanged, raw: an escape in a
// scope reached the terminal. They are shown quoted. Not parallel: the command sets the
// process's rule limits.
func TestRulesApplyShowsKeys(t *testing.T) {
	t.Cleanup(func() { _ = rule.SetLimits(rule.DefaultLimits) })
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	f := tempFile(t, "r.yaml", `rules:
  - id: r1
    scope: "c\x1b[2J\u202e"
    when: {path: $.type, op: ==, value: x}
    threshold: 1
`)
	out, err := run(t, "", "rules", "apply", "-f", f, "--brokers", b.Addr)
	if err != nil {
		t.Fatalf("rules apply: %v\n%s", err, out)
	}
	if want := "published  \"c\\x1b[2J\\u202e/r1\" upsert version 1 (controls offset "; !strings.Contains(out, want) {
		t.Errorf("rules apply output lacks %q:\n%s", want, out)
	}
	if strings.ContainsAny(out, rawUnsafe) {
		t.Errorf("rules apply printed a key raw:\n%q", out)
	}
	out, err = run(t, "", "rules", "apply", "-f", f, "--brokers", b.Addr)
	if err != nil {
		t.Fatalf("rules apply again: %v\n%s", err, out)
	}
	if want := "unchanged  \"c\\x1b[2J\\u202e/r1\" version 1\n"; !strings.Contains(out, want) {
		t.Errorf("rules apply again: output lacks %q:\n%s", want, out)
	}
	if strings.ContainsAny(out, rawUnsafe) {
		t.Errorf("rules apply again printed a key raw:\n%q", out)
	}
}

// TestLakeStatsShowsPaths: a typed column's path is a rule's JSONPath, whose names may
// hold a line separator or a bidi override raw, and the manifest that lists them is in
// the bucket; `lake stats` printed them raw. They are shown quoted, as lake ls's file
// paths are.
func TestLakeStatsShowsPaths(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	st := lakehouse.Stats{Files: 1, Rows: 1, Columns: []lakehouse.ColumnStats{{Path: "$['a\u2028b\u202e']", Files: 1, Rows: 1, Values: 1}}}
	if err := printStats(&out, st); err != nil {
		t.Fatal(err)
	}
	if want := `"$['a\u2028b\u202e']"`; !strings.Contains(out.String(), want) {
		t.Errorf("lake stats output lacks %s:\n%s", want, out.String())
	}
	out.Reset()
	l := lakehouse.Listing{Files: []lakehouse.FileEntry{{Path: "data/p=0000/x\u2028y.parquet", Deleted: []lakehouse.OffsetRange{{From: 1, To: 2}}}}}
	if err := printListing(&out, l); err != nil {
		t.Fatal(err)
	}
	if want := `"data/p=0000/x\u2028y.parquet"`; strings.Count(out.String(), want) != 2 {
		t.Errorf("lake ls output lacks %s twice (the row, the deleted range):\n%s", want, out.String())
	}
	if strings.ContainsAny(out.String(), rawUnsafe) {
		t.Errorf("lake ls printed a path raw:\n%q", out.String())
	}
}

// TestBacktestChartLegendIsXML: the chart's legend names each rule by its key, whose
// scope is any UTF-8 but *, newline, CR and tab; gonum's SVG writer escapes <, >, &
// and quotes but passes other characters raw, so an ESC in a scope (a character XML
// does not allow) made the chart a file no XML reader takes, and a bidi override
// reversed the legend. The legend shows the key as the text reports do, and the chart
// is well-formed XML whatever the scope.
func TestBacktestChartLegendIsXML(t *testing.T) {
	t.Parallel()
	const scope = "c\x1b[2J<b>&\u202e"
	rep := &contract.Backtest{Rules: []contract.BacktestRule{{Scope: scope, ID: "r1", Version: 1, Firings: 3,
		PerDay: []contract.BacktestCount{{Key: "2026-01-01", Firings: 3}}}}}
	path := filepath.Join(t.TempDir(), "report.svg")
	if drawn, err := writeBacktestPlot(rep, path); err != nil || !drawn {
		t.Fatalf("writeBacktestPlot: %v, drawn %v", err, drawn)
	}
	svg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
		}
	}
	if want := `"c\x1b[2J<b>&\u202e/r1" v1`; !strings.Contains(text.String(), want) {
		t.Errorf("the chart's text lacks the legend %s:\n%s", want, text.String())
	}
}
