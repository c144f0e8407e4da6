package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBacktestCommand archives generated events into a file lake and runs `hindsight
// backtest` on the sample rules over it: the JSON report (stdout and --out) is the
// library's, the text report names every rule and its firings, and a lake that holds
// nothing, a missing rules file and a bad --from are errors.
func TestBacktestCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	recs := livetest.ProduceEvents(t, b, workload.New(3, workload.Config{Customers: 3, Step: time.Second}), 3000)
	lake, lakeDir := livetest.Archive(t, b, recs)

	rulesFile := filepath.Join("..", "..", "testdata", "rules", "sample.yaml")
	url := "file://" + lakeDir
	outFile := filepath.Join(t.TempDir(), "report.json")
	stdout, err := run(t, "", "backtest", "-f", rulesFile, "--lake", url, "--brokers", "", "--json", "--out", outFile)
	if err != nil {
		t.Fatalf("backtest: %v\n%s", err, stdout)
	}
	var got contract.Backtest
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not a report: %v\n%s", err, stdout)
	}
	var written contract.Backtest
	if err := json.Unmarshal(mustRead(t, outFile), &written); err != nil {
		t.Fatalf("--out is not a report: %v", err)
	}
	// Its chart beside it: an SVG with a line per firing rule.
	svg := string(mustRead(t, strings.TrimSuffix(outFile, ".json")+".svg"))
	if !strings.HasPrefix(strings.TrimSpace(svg), "<?xml") || !strings.Contains(svg, "<svg") || !strings.Contains(svg, "failed-login-burst") {
		t.Errorf("report.svg is not a chart of the firing rules:\n%.300s", svg)
	}
	// The library's report of the same rules over the same lake.
	data := mustRead(t, rulesFile)
	file, err := rule.ParseRulesFileTests(rulesFile, data)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := backtest.Run(ctx, backtest.Config{Lake: lake, Rules: file.Rules})
	if err != nil {
		t.Fatal(err)
	}
	for what, rep := range map[string]*contract.Backtest{"stdout": &got, "--out": &written} {
		if g, w := mustMarshal(t, rep), mustMarshal(t, lib); g != w {
			t.Errorf("%s report\n%s\nwant\n%s", what, g, w)
		}
	}
	fired := 0
	for _, r := range got.Rules {
		fired += r.Firings
	}
	if got.Events != int64(len(recs)) || len(got.Rules) != len(file.Rules) || fired == 0 {
		t.Errorf("%d events, %d rules, %d firings; want %d, %d and some", got.Events, len(got.Rules), fired, len(recs), len(file.Rules))
	}

	text, err := run(t, "", "backtest", "-f", rulesFile, "--lake", url, "--brokers", "")
	if err != nil {
		t.Fatalf("backtest: %v\n%s", err, text)
	}
	for _, r := range got.Rules {
		if !strings.Contains(text, r.Scope+"/"+r.ID) {
			t.Errorf("the text report does not name %s/%s:\n%s", r.Scope, r.ID, text)
		}
	}
	t.Logf("hindsight backtest -f %s --lake %s:\n%s", rulesFile, url, text)
	if !strings.Contains(text, "per day:") || !strings.Contains(text, "top groups:") {
		t.Errorf("the text report lists no firings:\n%s", text)
	}

	// With --brokers, events produced since are read from Kafka too.
	more := livetest.ProduceEvents(t, b, workload.New(4, workload.Config{Customers: 3, Step: time.Second}), 500)
	out, err := run(t, "", "backtest", "-f", rulesFile, "--lake", url, "--brokers", b.Addr, "--json")
	if err != nil {
		t.Fatalf("backtest --brokers: %v\n%s", err, out)
	}
	var withTail contract.Backtest
	if err := json.Unmarshal([]byte(out), &withTail); err != nil {
		t.Fatalf("stdout is not a report: %v\n%s", err, out)
	}
	if withTail.TailRecords != int64(len(more)) || withTail.Events != int64(len(recs)+len(more)) {
		t.Errorf("--brokers: %d tail records, %d events; want %d and %d", withTail.TailRecords, withTail.Events, len(more), len(recs)+len(more))
	}

	// A report to the same --out whose rules never fire has no chart: the one the run
	// above left beside it would be taken for this report's.
	quiet := filepath.Join(t.TempDir(), "quiet.yaml")
	writeFile(t, quiet, "- {id: never, scope: \"*\", threshold: 1, when: {path: $.no_such_field, op: exists}}\n")
	if out, err := run(t, "", "backtest", "-f", quiet, "--lake", url, "--brokers", "", "--out", outFile); err != nil {
		t.Fatalf("backtest: %v\n%s", err, out)
	}
	if err := json.Unmarshal(mustRead(t, outFile), &written); err != nil || len(written.Rules) != 1 || written.Rules[0].ID != "never" {
		t.Fatalf("--out after the quiet run: %v, %+v", err, written.Rules)
	}
	if _, err := os.Stat(strings.TrimSuffix(outFile, ".json") + ".svg"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a report without firings has the earlier run's chart beside it (stat: %v)", err)
	}

	for _, tc := range []struct {
		name string
		args []string
		msg  string
		code int
	}{
		{"empty lake", []string{"-f", rulesFile, "--lake", "file://" + t.TempDir(), "--brokers", ""}, "holds no manifest", 1},
		{"no rules file", []string{"--lake", url}, "-f RULES is required", 2},
		{"bad from", []string{"-f", rulesFile, "--lake", url, "--from", "yesterday"}, "neither RFC 3339", 2},
		{"from not before to", []string{"-f", rulesFile, "--lake", url, "--brokers", "", "--from", "2026-11-24", "--to", "2026-11-23"}, "the time range is empty", 2},
		// The chart would overwrite the report.
		{"svg out", []string{"-f", rulesFile, "--lake", url, "--brokers", "", "--out", filepath.Join(t.TempDir(), "bt.svg")}, "name the report otherwise", 2},
		{"no broker", []string{"-f", rulesFile, "--lake", url, "--brokers", "127.0.0.1:1"}, "or pass --brokers, or --brokers '' to read the lake alone", 1},
	} {
		out, err := run(t, "", append([]string{"backtest"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || exitCode(err) != tc.code {
			t.Errorf("%s: error %v (exit %d), want one saying %q, exit %d\n%s", tc.name, err, exitCode(err), tc.msg, tc.code, out)
		}
	}
	if _, err := os.Stat(filepath.Join(lakeDir, "manifest")); err != nil {
		t.Errorf("the lake's manifest is gone: %v", err)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The text report names the offsets a backtest could not count, with why.
func TestPrintBacktestMissing(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	rep := &contract.Backtest{LakeVersion: 3, Files: 2, Rows: 70, Events: 70,
		Missing: []contract.MissingRange{{Partition: 1, From: 50, To: 79, Reason: "deleted"}}}
	if err := printBacktest(&out, "file:///lake", rep); err != nil {
		t.Fatal(err)
	}
	if want := "\nnot counted: partition 1 offsets 50–79, deleted\n"; !strings.Contains(out.String(), want) {
		t.Errorf("report\n%s\nlacks %q", out.String(), want)
	}
}

// The text report says of how many customers and groups its top lists are, when more
// fired than they list: ten customers with nothing said read as all that fired.
func TestPrintBacktestSaysWhenTopListsAreCut(t *testing.T) {
	t.Parallel()
	r := contract.BacktestRule{Scope: "*", ID: "r", Version: 1, Firings: 13,
		PerDay: []contract.BacktestCount{{Key: "2026-01-01", Firings: 13}}, CustomersTotal: 12, GroupsTotal: 1}
	for i := range contract.BacktestTop {
		r.Customers = append(r.Customers, contract.BacktestCount{Key: fmt.Sprintf("c-%02d", i), Firings: 1})
	}
	r.Groups = []contract.BacktestGroup{{Customer: "c-00", Group: []byte(`{"$.u":"a"}`), Firings: 1}}
	var out strings.Builder
	if err := printBacktest(&out, "file:///lake", &contract.Backtest{Rules: []contract.BacktestRule{r}}); err != nil {
		t.Fatal(err)
	}
	if want := "c-09 1 (the 10 most firing of 12 customers)\n"; !strings.Contains(out.String(), want) {
		t.Errorf("report\n%s\nlacks %q", out.String(), want)
	}
	if got := out.String(); !strings.Contains(got, `  top groups:    c-00 {"$.u":"a"} 1`+"\n") {
		t.Errorf("report\n%s\nsays its one group is cut, or lacks it", got)
	}
}
