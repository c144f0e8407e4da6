package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestBadUsageExitsTwo: backfill's help promises "2 for bad usage; 1 for other errors"
// and rules test's "Exit status 1 when a test fails, 2 when RULES is invalid". Bad
// command lines (an unknown flag or subcommand, a flag without its value, a missing
// required -f) and an invalid or missing rules file exit 2, never the 1 that means "a
// test failed" (rules test) or "another error" (backfill). Cobra's own refusals had no
// exit status, so 1; an unknown subcommand of a group printed its help and exited 0
// (found by a review helper).
func TestBadUsageExitsTwo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- id: x\n  scope: '*'\n  threshold: 1\n  when: {path: '$['}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lake := "file://" + filepath.Join(dir, "lake")
	for _, args := range [][]string{
		{"backfill", "--brokers", "", "--at", "0:0", "--lake", lake, "--nosuch"},
		{"backfill", "--brokers", "", "--at", "0:0", "--lake", lake, "-f", bad},
		{"rules", "test"},
		{"rules", "test", "-f", "testdata/rules-with-tests.yaml", "--nosuch"},
		{"rules", "test", "-f"},
		{"rules", "nosuch"},
		{"nosuch"},
		{"lake", "ls", "--lake", lake, "extra"},
		{"backtest", "-f", filepath.Join(dir, "missing.yaml"), "--lake", lake},
		{"backtest", "-f", bad, "--lake", lake},
		{"mutes", "add", "late", "--until", "2000-01-01T00:00:00Z", "--brokers", "127.0.0.1:1"},
	} {
		_, err := run(t, "", args...)
		if code := exitCode(err); code != 2 {
			t.Errorf("hindsight %s: exit status %d (%v), want 2 for bad usage", strings.Join(args, " "), code, err)
		}
	}
}

// TestRulesTestCustomerWithKeySeparator: rules test's --customer is "customer id of
// every event", yet with --key-separator each line's key silently replaced it, so the
// events were evaluated for another customer than the one asked for. hindsight produce
// refuses the same pair of flags ("give --customer … or --key-separator …, not both"),
// and so does rules test now (found by a review helper).
func TestRulesTestCustomerWithKeySeparator(t *testing.T) {
	t.Parallel()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("- {id: r, scope: '*', threshold: 1, when: {path: $.type, op: ==, value: x}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "c-1|{\"type\":\"x\"}\n", "rules", "test", "-f", rules, "--customer", "c-9", "--key-separator", "|", "-")
	if err == nil {
		t.Errorf("rules test --customer c-9 --key-separator '|' succeeded, evaluating for a customer other than --customer's:\n%s", out)
	} else if exitCode(err) != 2 {
		t.Errorf("rules test --customer with --key-separator: exit %d (%v), want 2 as produce's", exitCode(err), err)
	}
}

// TestDirectoryForAFileExitsTwo: a directory given where a file is read is bad input,
// exit status 2, as rules test says it (errors.go: "Every command that takes such a file
// exits 2 for it, as rules test does"), and as produce says a missing file. rules apply,
// destinations apply and backtest exited 1 ("reading rules file DIR: read DIR: is a directory"), as a failure,
// and so did produce ("reading events: ... is a directory", once the broker answered)
// and jsonpath.
func TestDirectoryForAFileExitsTwo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	nobody := noBroker(t)
	// rules test, the reference: exit 2.
	if _, err := run(t, "", "rules", "test", "-f", dir); exitCode(err) != 2 {
		t.Fatalf("rules test -f DIR: exit %d (%v); the reference changed", exitCode(err), err)
	}
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	for _, args := range [][]string{
		{"rules", "apply", "-f", dir, "--brokers", nobody},
		{"destinations", "apply", "-f", dir, "--brokers", nobody},
		{"backtest", "-f", dir, "--brokers", "", "--lake", "file://" + t.TempDir()},
		{"produce", dir, "--brokers", b.Addr},
		{"jsonpath", "$", dir},
	} {
		if _, err := run(t, "", args...); exitCode(err) != 2 {
			t.Errorf("%v: exit %d (%v), want 2: a directory for a file is bad input", args, exitCode(err), err)
		}
	}
}
