package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBackfillCommand drives `hindsight backfill` for a rules file and for a live rule
// read from the controls topic, as of now, with an empty lake: every event comes from
// the Kafka tail. The counts must be a replay of what was produced.
func TestBackfillCommand(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	recs := livetest.ProduceEvents(t, b, workload.New(5, workload.Config{Customers: 4}), 400)
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rulesFile, []byte(`
- id: failures
  scope: "*"
  threshold: 5
  when: {path: $.outcome, op: ==, value: failure}
- id: admins
  scope: c-0001
  threshold: 2
  when: {path: "$.actor.roles[*]", op: ==, value: admin}
`), 0o644)
	fileRules, err := rule.ParseRulesFile(rulesFile, mustRead(t, rulesFile))
	if err != nil {
		t.Fatal(err)
	}
	live := &rule.Rule{ID: "logins", Scope: rule.GlobalScope, Threshold: rule.AtLeast(3), When: &rule.Condition{Path: "$.type", Op: rule.OpEq, Value: json.RawMessage(`"login.failed"`)}}
	if err := live.Validate(); err != nil {
		t.Fatal(err)
	}
	ctl, _ := rule.Upsert(live).Marshal()
	b.Produce(t, &kgo.Record{Topic: "controls", Key: []byte(live.Key().String()), Value: ctl})

	if err := os.MkdirAll(filepath.Join(dir, "lake"), 0o755); err != nil { // an empty lake: history is all in Kafka
		t.Fatal(err)
	}
	out, err := run(t, "", "backfill", "--brokers", b.Addr, "--lake", "file://"+filepath.Join(dir, "lake"),
		"--cache-dir", filepath.Join(dir, "cache"), "-f", rulesFile, "--rule", "logins", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rows []countRow
	// stdout and stderr (the progress bar) share run's buffer: the counts are the last
	// JSON array in it.
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n[")+1:]), &rows); err != nil {
		t.Fatalf("output is not the JSON counts: %v\n%s", err, out)
	}
	got := map[string]int64{}
	for _, r := range rows {
		got[r.Scope+"/"+r.RuleID+"@"+r.Customer] = r.Count
		if r.Reached != (r.Count >= r.Threshold) {
			t.Errorf("row %+v: reached is wrong", r)
		}
	}
	want := map[string]int64{}
	doc := jsonpath.NewDocument()
	for _, rec := range recs {
		if err := doc.Reset(rec.Value); err != nil {
			t.Fatal(err)
		}
		for _, r := range append(fileRules, live) {
			if r.AppliesTo(string(rec.Key)) && r.Matches(doc) {
				want[r.Scope+"/"+r.ID+"@"+string(rec.Key)]++
			}
		}
	}
	if len(want) < 5 {
		t.Fatalf("the replay counts too little to show anything: %v", want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: backfill %d, replay %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("backfill has %d counters, replay %d: %v", len(got), len(want), got)
	}

	// Bounded to fewer customers than the rule matched: those counted are whole, the
	// others are said to be left out, and the exit status is 3.
	out, err = run(t, "", "backfill", "--brokers", b.Addr, "--lake", "file://"+filepath.Join(dir, "lake"),
		"--cache-dir", filepath.Join(dir, "cache"), "--rule", "logins", "--max-customers", "2", "--json")
	if exitCode(err) != 3 || !strings.Contains(out, "*/logins: INCOMPLETE: ") || !strings.Contains(out, "of customers beyond --max-customers (2) not counted: the 2 customers listed are whole") {
		t.Fatalf("backfill --max-customers 2: exit status %d (%v), want 3 and the customers left out said\n%s", exitCode(err), err, out)
	}
	rows = nil
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n[")+1:]), &rows); err != nil {
		t.Fatalf("output is not the JSON counts: %v\n%s", err, out)
	}
	if len(rows) != 2 {
		t.Errorf("backfill --max-customers 2 printed %d rows, want 2: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if k := r.Scope + "/" + r.RuleID + "@" + r.Customer; r.Count != want[k] {
			t.Errorf("backfill --max-customers 2: %s counted %d, replay %d", k, r.Count, want[k])
		}
	}

	// Every run has a cache of the test's own: the flag's default, ./hindsight-data/cache,
	// is the package directory's.
	if _, err := run(t, "", "backfill", "--brokers", b.Addr, "--rule", "*/nope", "--lake", "file://"+filepath.Join(dir, "lake"), "--cache-dir", filepath.Join(dir, "cache")); err == nil {
		t.Error("an unknown live rule was accepted")
	}
	// Bad usage is exit status 2, as the help says.
	for _, args := range [][]string{
		{"--brokers", b.Addr, "-f", rulesFile, "--at", "zero"},      // malformed --at
		{"--brokers", b.Addr, "-f", rulesFile, "--at", "0:100,0:5"}, // a partition twice: which start?
		{"--brokers", b.Addr},                                // no rules named
		{"--brokers", "", "--rule", "logins", "--at", "0:1"}, // live rules without brokers
		{"--brokers", "", "-f", rulesFile},                   // --at now without brokers
	} {
		if _, err := run(t, "", append([]string{"backfill", "--lake", "file://" + filepath.Join(dir, "lake"), "--cache-dir", filepath.Join(dir, "cache")}, args...)...); exitCode(err) != 2 {
			t.Errorf("backfill %v: exit status %d (%v), want 2 for bad usage", args, exitCode(err), err)
		}
	}
	windowed := filepath.Join(dir, "windowed.yaml")
	writeFile(t, windowed, `rules:
  - {id: burst, scope: "*", when: {path: $.type, op: exists}, group_by: [$.user], window: {size: 1m}, threshold: 3}
`)
	if _, err := run(t, "", "backfill", "--brokers", b.Addr, "-f", windowed, "--lake", "file://"+filepath.Join(dir, "lake"), "--cache-dir", filepath.Join(dir, "cache")); err == nil ||
		!strings.Contains(err.Error(), "no rule to count") {
		t.Errorf("a file of windowed rules alone: %v, want the error that there is no rule to count", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBackfillCommandSaysIncomplete: a lake file is lost and Kafka's retention has
// dropped its offsets too. `hindsight backfill` still prints the counts of what it could
// read, marks them incomplete, names the missing offsets and exits 3 — a script that
// trusts the exit status never takes a short count for the whole history.
func TestBackfillCommandSaysIncomplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := livetest.ProduceEvents(t, b, workload.New(8, workload.Config{Customers: 3}), 2000)
	dir := t.TempDir()
	bkt, lakeDir := lakehousetest.FileBucket(t)
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- lakehouse.RunArchiver(actx, lakehouse.ArchiverConfig{Brokers: []string{b.Addr}, Bucket: bkt,
			RollAge: 50 * time.Millisecond, RollBytes: 32 << 10, CompactInterval: -1})
	}()
	lake := lakehouse.NewLake(bkt, nil)
	var (
		snap *lakehouse.Snapshot
		err  error
	)
	poll.Until(t, 60*time.Second, fmt.Sprintf("the archiver to archive %d records", len(recs)), func() bool {
		snap, err = lake.Snapshot(ctx)
		return err == nil && snap.Watermark(0) == int64(len(recs))-1
	})
	stop()
	if err := <-done; err != nil {
		t.Fatalf("archiver: %v", err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) < 3 {
		t.Fatalf("want 3 or more lake files, have %d", len(files))
	}
	gone := files[1]
	if err := os.Remove(filepath.Join(lakeDir, filepath.FromSlash(gone.Path))); err != nil {
		t.Fatal(err)
	}
	del := kadm.Offsets{}
	del.AddOffset("events", 0, int64(len(recs)), -1)
	if resp, err := kadm.NewClient(b.Client(t)).DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}

	rulesFile := filepath.Join(dir, "rules.yaml")
	// rare matches nothing in what is left: its row must still say it is incomplete,
	// not leave it out (an empty output reads as zero for everyone, complete).
	os.WriteFile(rulesFile, []byte("- {id: all, scope: \"*\", threshold: 1, when: {path: $.type, op: exists}}\n"+
		"- {id: rare, scope: \"*\", threshold: 1, when: {path: $.no_such_field, op: exists}}\n"+
		"- {id: rare, scope: c-0001, threshold: 1, when: {path: $.no_such_field, op: exists}}\n"), 0o644)
	out, err := run(t, "", "backfill", "--brokers", b.Addr, "--lake", "file://"+lakeDir, "--cache-dir", filepath.Join(dir, "cache"), "-f", rulesFile, "--json")
	if exitCode(err) != 3 {
		t.Fatalf("exit status %d (%v), want 3 for an incomplete history\n%s", exitCode(err), err, out)
	}
	if !strings.Contains(err.Error(), "incomplete for */all, */rare, c-0001/rare") {
		t.Errorf("error %q does not name the rule", err)
	}
	if want := "INCOMPLETE: "; !strings.Contains(out, want) || !strings.Contains(out, gone.Path) {
		t.Errorf("stderr does not list the missing offsets with the lost file %s:\n%s", gone.Path, out)
	}
	var rows []countRow
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n[")+1:]), &rows); err != nil {
		t.Fatalf("output is not the JSON counts: %v\n%s", err, out)
	}
	var total int64
	sawRare := false
	for _, r := range rows {
		total += r.Count
		if !r.Incomplete {
			t.Errorf("row %+v is not marked incomplete", r)
		}
		if r.RuleID == "rare" {
			sawRare = true
			// A customer's rule's row is its customer's; a global rule's, no one's.
			if want := map[string]string{"*": "", "c-0001": "c-0001"}[r.Scope]; r.Count != 0 || r.Customer != want {
				t.Errorf("%s/rare matched nothing: row %+v, want count 0 for customer %q", r.Scope, r, want)
			}
		}
	}
	if !sawRare {
		t.Errorf("*/rare, incomplete with no match, has no row: %+v", rows)
	}
	if want := int64(len(recs)) - gone.Rows; total != want {
		t.Errorf("counted %d events, want %d (all but the %d of the lost file)", total, want, gone.Rows)
	}
}

// TestBackfillLakeAlone: with an empty --brokers and --at, as the README and backfill's own
// error when no broker answers advise, the lake is read alone (it once failed with "no
// brokers configured" before reading anything). What retention dropped before the lake
// began is counted as truncated, in the rows too, and stderr does not claim that Kafka
// was asked.
func TestBackfillLakeAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := livetest.ProduceEvents(t, b, workload.New(5, workload.Config{Customers: 4}), 500)
	const dropped = 100 // Kafka's retention took these before the archiver began
	del := kadm.Offsets{}
	del.AddOffset("events", 0, dropped, -1)
	if resp, err := kadm.NewClient(b.Client(t)).DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("deleting records: %v %v", err, resp.Error())
	}
	lake, lakeDir := livetest.Archive(t, b, recs[dropped:])
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	writeFile(t, rulesFile, "- {id: all, scope: \"*\", threshold: 1, when: {path: $.type, op: exists}}\n")
	out, err := run(t, "", "backfill", "--brokers", "", "--lake", "file://"+lakeDir, "--cache-dir", filepath.Join(dir, "cache"),
		"-f", rulesFile, "--at", fmt.Sprintf("0:%d", len(recs)), "--json")
	if err != nil {
		t.Fatalf("backfill --brokers '' --at 0:%d: exit %d: %v\n%s", len(recs), exitCode(err), err, out)
	}
	if want := "counts cover what the lake still holds (Kafka was not asked: no --brokers), partition 0 from offset 100"; !strings.Contains(out, want) {
		t.Errorf("stderr does not say %q:\n%s", want, out)
	}
	var rows []countRow
	if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n[")+1:]), &rows); err != nil {
		t.Fatalf("output is not the JSON counts: %v\n%s", err, out)
	}
	var total int64
	for _, r := range rows {
		total += r.Count
		if !r.Truncated || r.Incomplete {
			t.Errorf("row %+v: want truncated, not incomplete", r)
		}
	}
	if want := int64(len(recs) - dropped); total != want {
		t.Errorf("counted %d, want %d", total, want)
	}

	// A lake file lost, which Kafka still holds: incomplete, and not said to be
	// missing from Kafka, which was not asked.
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(lakehouse.Filter{})
	if len(files) < 2 {
		t.Fatalf("want 2 or more lake files, have %d", len(files))
	}
	if err := os.Remove(filepath.Join(lakeDir, filepath.FromSlash(files[1].Path))); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "", "backfill", "--brokers", "", "--lake", "file://"+lakeDir, "--cache-dir", filepath.Join(dir, "cache2"), // the first run's cache holds the file
		"-f", rulesFile, "--at", fmt.Sprintf("0:%d", len(recs)))
	if exitCode(err) != 3 || !strings.Contains(out, "INCOMPLETE") || !strings.Contains(out, "the lake does not hold them, and Kafka was not asked (no --brokers)") ||
		strings.Contains(out, "neither the lake nor Kafka") {
		t.Errorf("a lost file, Kafka not asked: exit %d (%v)\n%s", exitCode(err), err, out)
	}
}

// TestBrokersFromAnEmptyVariable: HINDSIGHT_BROKERS= is no brokers, as an empty --brokers is
// (it was one empty broker, and backtest failed with "no brokers configured").
func TestBrokersFromAnEmptyVariable(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	recs := livetest.ProduceEvents(t, b, workload.New(3, workload.Config{Customers: 3}), 200)
	_, lakeDir := livetest.Archive(t, b, recs)
	t.Setenv("HINDSIGHT_BROKERS", "")
	out, err := run(t, "", "backtest", "-f", "../../testdata/rules/sample.yaml", "--lake", "file://"+lakeDir, "--json")
	if err != nil {
		t.Fatalf("HINDSIGHT_BROKERS= backtest: exit %d: %v\n%s", exitCode(err), err, out)
	}
	var rep contract.Backtest
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Events != int64(len(recs)) {
		t.Errorf("backtest read %d events, want %d", rep.Events, len(recs))
	}
}

// TestBackfillAtNamesThePartitionsItLeavesOut: --at PARTITION:OFFSET,… counts only the
// partitions it names. One that holds history in the topic or the lake and --at leaves
// out is listed as INCOMPLETE, with exit status 3: c1's 10 events, all in one partition, were printed
// as a count of 0 with exit status 0 and nothing said of that partition.
func TestBackfillAtNamesThePartitionsItLeavesOut(t *testing.T) {
	t.Parallel()
	rf := filepath.Join(t.TempDir(), "r.yaml")
	writeFile(t, rf, "rules:\n  - {id: a, scope: \"*\", when: {path: $.type, op: ==, value: x}, threshold: 2}\n")
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte("c1"), Value: []byte(`{"type":"x"}`), Timestamp: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)})
	}
	recs = b.Produce(t, recs...)
	_, lakeDir := livetest.Archive(t, b, recs)
	held, other := recs[0].Partition, 1-recs[0].Partition
	for _, brokers := range []string{b.Addr, ""} { // Kafka and the lake know the partitions; the lake alone
		base := []string{"backfill", "-f", rf, "--lake", "file://" + lakeDir, "--brokers", brokers, "--cache-dir", t.TempDir(), "--customer", "c1"}
		out, err := run(t, "", append(base, "--at", fmt.Sprintf("%d:0", other))...)
		want := fmt.Sprintf("*/a: INCOMPLETE: partition %d not named in --at, so not counted", held)
		if exitCode(err) != 3 || !strings.Contains(out, want) || !strings.Contains(out, "c1        0 (incomplete)") {
			t.Errorf("--brokers %q --at %d:0, c1's events all in partition %d: exit %d (%v)\n%s\nwant exit 3 and %q", brokers, other, held, exitCode(err), err, out, want)
		}
		// The other partition never held an event: it need not be named (a review's
		// test: it was INCOMPLETE, exit status 3, the counts whole).
		for _, at := range []string{fmt.Sprintf("%d:10,%d:0", held, other), fmt.Sprintf("%d:10", held)} {
			out, err = run(t, "", append(base, "--at", at)...)
			if err != nil || strings.Contains(out, "INCOMPLETE") || !strings.Contains(strings.Join(strings.Fields(out), " "), "*/a 1 c1 10 2 yes") {
				t.Errorf("--brokers %q --at %s: %v\n%s", brokers, at, err, out)
			}
		}
	}
}
