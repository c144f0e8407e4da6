package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/workload"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestBackfillRuleNamedTwiceIsCountedOnce names one rule twice: as --rule ID and
// --rule SCOPE/ID, or in the -f file and by --rule. backfill must count it once: each
// (rule, version, customer) one row, as a reader summing the rows per rule would
// otherwise count every match twice.
func TestBackfillRuleNamedTwiceIsCountedOnce(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	livetest.ProduceEvents(t, b, workload.New(7, workload.Config{Customers: 3}), 200)
	dir := t.TempDir()
	const ruleYAML = `- id: logins
  scope: "*"
  version: 1
  threshold: 3
  when: {path: $.type, op: ==, value: login.failed}
`
	rulesFile := filepath.Join(dir, "rules.yaml")
	writeFile(t, rulesFile, ruleYAML)
	rs, err := rule.ParseRulesFile(rulesFile, []byte(ruleYAML))
	if err != nil {
		t.Fatal(err)
	}
	ctl, _ := rule.Upsert(rs[0]).Marshal()
	b.Produce(t, &kgo.Record{Topic: "controls", Key: []byte(rs[0].Key().String()), Value: ctl})
	if err := os.MkdirAll(filepath.Join(dir, "lake"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"--rule ID and --rule SCOPE/ID", []string{"--rule", "logins", "--rule", "*/logins"}},
		{"-f and --rule", []string{"-f", rulesFile, "--rule", "logins"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"backfill", "--brokers", b.Addr, "--lake", "file://" + filepath.Join(dir, "lake"),
				"--cache-dir", filepath.Join(dir, "cache-"+fmt.Sprint(len(tc.args))), "--json"}, tc.args...)
			out, err := run(t, "", args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var rows []countRow
			if err := json.Unmarshal([]byte(out[strings.LastIndex(out, "\n[")+1:]), &rows); err != nil {
				t.Fatalf("output is not the JSON counts: %v\n%s", err, out)
			}
			if len(rows) == 0 {
				t.Fatalf("no rows:\n%s", out)
			}
			seen := map[string]int{}
			for _, r := range rows {
				seen[fmt.Sprintf("%s/%s v%d @%s", r.Scope, r.RuleID, r.Version, r.Customer)]++
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("%s: %d rows, want 1 (the rule named twice was counted twice)", k, n)
				}
			}
		})
	}

	// The same version defined otherwise in the file than on the topic: which counts
	// to print is not for backfill to guess.
	other := filepath.Join(dir, "other.yaml")
	writeFile(t, other, strings.Replace(ruleYAML, "threshold: 3", "threshold: 5", 1))
	out, err := run(t, "", "backfill", "--brokers", b.Addr, "--lake", "file://"+filepath.Join(dir, "lake"),
		"--cache-dir", filepath.Join(dir, "cache-other"), "-f", other, "--rule", "logins")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), "controls") {
		t.Errorf("-f and --rule defining version 1 differently: exit status %d (%v), want 2 naming %s and the controls topic\n%s", exitCode(err), err, other, out)
	}
}
