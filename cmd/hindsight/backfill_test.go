package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/e2etest"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBackfillCommand drives `hindsight backfill` for a rules file and for a live rule
// read from the controls topic, as of now, with an empty lake: every event comes from
// the Kafka tail. The counts must be a replay of what was produced.
func TestBackfillCommand(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	recs := e2etest.ProduceEvents(t, b, workload.New(5, workload.Config{Customers: 4}), 400)
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
	live := &rule.Rule{ID: "logins", Scope: rule.GlobalScope, Threshold: 3, When: &rule.Condition{Path: "$.type", Op: rule.OpEq, Value: json.RawMessage(`"login.failed"`)}}
	if err := live.Validate(); err != nil {
		t.Fatal(err)
	}
	ctl, _ := rule.Upsert(live).Marshal()
	b.Produce(t, &kgo.Record{Topic: "controls", Key: []byte(live.Key().String()), Value: ctl})

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
	if _, err := run(t, "", "backfill", "-f", rulesFile, "--at", "zero", "--lake", "file://"+filepath.Join(dir, "lake")); err == nil {
		t.Error("a malformed --at was accepted")
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
