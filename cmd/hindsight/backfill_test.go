package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
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

	if _, err := run(t, "", "backfill", "--brokers", b.Addr, "--rule", "*/nope", "--lake", "file://"+filepath.Join(dir, "lake")); err == nil {
		t.Error("an unknown live rule was accepted")
	}
	if _, err := run(t, "", "backfill", "--brokers", b.Addr, "-f", rulesFile, "--at", "zero", "--lake", "file://"+filepath.Join(dir, "lake")); err == nil {
		t.Error("a malformed --at was accepted")
	}
	windowed := filepath.Join(dir, "windowed.yaml")
	writeFile(t, windowed, `rules:
  - {id: burst, scope: "*", when: {path: $.type, op: exists}, group_by: [$.user], window: {size: 1m}, threshold: 3}
`)
	if _, err := run(t, "", "backfill", "--brokers", b.Addr, "-f", windowed, "--lake", "file://"+filepath.Join(dir, "lake")); err == nil ||
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
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if snap, err = lake.Snapshot(ctx); err == nil && snap.Watermark(0) == int64(len(recs))-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the archiver did not archive %d records within 60s", len(recs))
		}
	}
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
	os.WriteFile(rulesFile, []byte("- {id: all, scope: \"*\", threshold: 1, when: {path: $.type, op: exists}}\n"), 0o644)
	out, err := run(t, "", "backfill", "--brokers", b.Addr, "--lake", "file://"+lakeDir, "--cache-dir", filepath.Join(dir, "cache"), "-f", rulesFile, "--json")
	if exitCode(err) != 3 {
		t.Fatalf("exit status %d (%v), want 3 for an incomplete history\n%s", exitCode(err), err, out)
	}
	if !strings.Contains(err.Error(), "incomplete for */all") {
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
	for _, r := range rows {
		total += r.Count
		if !r.Incomplete {
			t.Errorf("row %+v is not marked incomplete", r)
		}
	}
	if want := int64(len(recs)) - gone.Rows; total != want {
		t.Errorf("counted %d events, want %d (all but the %d of the lost file)", total, want, gone.Rows)
	}
}
