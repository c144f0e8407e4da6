package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestApplyStaleVersionNamesTheRulesLine: rules apply refuses a rule whose version is
// not newer than the active one's at the line of the rule's entry (README: "the file,
// line, rule"). It was the first line where the id appeared anywhere in the file: an id
// that is the prefix of an earlier rule's id was reported on that other rule's line
// (found by a review helper).
func TestApplyStaleVersionNamesTheRulesLine(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := write("first.yaml", `rules:
  - id: login-failures-admin
    scope: "*"
    when: {path: $.type, op: ==, value: login.failed}
    threshold: 3
  - id: login-failures
    scope: "*"
    version: 2
    when: {path: $.type, op: ==, value: login.failed}
    threshold: 5
`)
	if out, err := run(t, "", "rules", "apply", "-f", first, "--brokers", b.Addr); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	// The second rule changes but keeps version 1, below the active 2: refused, on line 6.
	second := write("second.yaml", `rules:
  - id: login-failures-admin
    scope: "*"
    when: {path: $.type, op: ==, value: login.failed}
    threshold: 3
  - id: login-failures
    scope: "*"
    version: 1
    when: {path: $.type, op: ==, value: login.failed}
    threshold: 7
`)
	out, err := run(t, "", "rules", "apply", "-f", second, "--brokers", b.Addr)
	if err == nil {
		t.Fatalf("second apply published a stale version:\n%s", out)
	}
	if !strings.Contains(err.Error(), "second.yaml:6: rule #2") {
		t.Errorf("error %q, want it positioned at second.yaml:6: rule #2 (where rule login-failures is)", err)
	}
}
