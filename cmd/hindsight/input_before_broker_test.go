package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesApplyChecksTheFileBeforeTheBroker: rules apply reads and checks its file
// before it asks for a broker, so an invalid or missing file is exit status 2 naming the
// file whether a broker runs or not. The broker was asked first: with none up, the same
// files were exit status 1, "no broker answered", and nothing said of the file.
func TestRulesApplyChecksTheFileBeforeTheBroker(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(p, []byte("rules:\n  - id: b\n    scope: \"*\"\n    when: {path: \"$.x[\"}\n    threshold: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{p, filepath.Join(t.TempDir(), "missing.yaml")} {
		out, err := run(t, "", "rules", "apply", "-f", file, "--brokers", "127.0.0.1:1")
		if exitCode(err) != 2 || !strings.Contains(err.Error(), file) || strings.Contains(err.Error(), "no broker") {
			t.Errorf("rules apply -f %s with no broker: exit %d, %v\n%s\nwant exit 2 naming the file", file, exitCode(err), err, out)
		}
	}
}

// TestNotifyChecksItsInputBeforeTheBroker: the same order in notify (a flag value the
// stage refuses) and destinations apply (an invalid file): exit status 2 about the
// input, not 1 "no broker answered", which depended on whether a broker was up.
func TestNotifyChecksItsInputBeforeTheBroker(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(p, []byte("destinations:\n  - {name: x, scope: \"*\", type: carrier-pigeon, url: \"https://example.com\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"notify", "--notify-queue-size", "2000000", "--http", "", "--brokers", "127.0.0.1:1"}, "--notify-queue-size"},
		{[]string{"notify", "--notify-secret-dir", "secrets", "--http", "", "--brokers", "127.0.0.1:1"}, "--notify-secret-dir"},
		{[]string{"notify", "--notify-secret-env-prefix", "", "--http", "", "--brokers", "127.0.0.1:1"}, "--notify-secret-env-prefix"},
		{[]string{"destinations", "apply", "-f", p, "--brokers", "127.0.0.1:1"}, p},
	} {
		out, err := run(t, "", tc.args...)
		if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "no broker") {
			t.Errorf("hindsight %s with no broker: exit %d, %v\n%s\nwant exit 2 naming %s", strings.Join(tc.args, " "), exitCode(err), err, out, tc.want)
		}
	}
}

// TestNotifyRefusesOneTopicForTwoRoles: each topic has one role, live refuses one name for two ("alerts and undelivered topics
// are both \"alerts\"", exit 2, ingest.Topics.Validate). hindsight notify never checked:
// with --topic-undelivered alerts it wrote the alerts it gave up on into the alerts
// topic, where it skips them as "not an alert", so nobody ever saw them; with
// --topic-alerts controls it read the rules as alerts. It should refuse them, exit 2,
// before any broker is asked, as it does its other flags
// (TestNotifyChecksItsInputBeforeTheBroker).
func TestNotifyRefusesOneTopicForTwoRoles(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"notify", "--topic-undelivered", "alerts", "--http", "", "--brokers", "127.0.0.1:1"},
		{"notify", "--topic-alerts", "controls", "--http", "", "--brokers", "127.0.0.1:1"},
	} {
		out, err := run(t, "", args...)
		if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "both") {
			t.Errorf("hindsight %s: exit %d, %v\n%s\nwant exit 2: two roles given one topic", strings.Join(args, " "), exitCode(err), err, out)
		}
	}
}

// TestProduceChecksItsFlagsBeforeTheBroker: produce checks its input before it asks for
// a broker, as rules apply and notify do
// (TestRulesApplyChecksTheFileBeforeTheBroker): a missing file is exit 2 either way.
// Its flags were checked only after the broker answered (runProduce), so with none up an
// unparsable --customer-path, or --customer with --key-separator (refused, exit 2, with
// a broker), were exit 1 "no broker answered", nothing said of the flag.
func TestProduceChecksItsFlagsBeforeTheBroker(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"produce", "--customer-path", "$[", "--brokers", "127.0.0.1:1"}, "--customer-path"},
		{[]string{"produce", "--customer", "c", "--key-separator", "|", "--brokers", "127.0.0.1:1"}, "--key-separator"},
	} {
		out, err := run(t, "", tc.args...)
		if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "no broker") {
			t.Errorf("hindsight %s with no broker: exit %d, %v\n%s\nwant exit 2 naming %s", strings.Join(tc.args, " "), exitCode(err), err, out, tc.want)
		}
	}
}

// TestBackfillChecksTheFileBeforeTheBroker: backfill reads its rules file before it
// asks for a broker, as rules apply does: a directory or a missing file is exit 2 whether
// a broker answers or not. It pinged first, and without a broker answering said only
// "no broker answered", exit 1 (a review's test).
func TestBackfillChecksTheFileBeforeTheBroker(t *testing.T) {
	t.Parallel()
	nobody := noBroker(t)
	dir := t.TempDir()
	for _, file := range []string{dir, filepath.Join(dir, "missing.yaml")} {
		_, err := run(t, "", "backfill", "-f", file, "--brokers", nobody, "--lake", "file://"+t.TempDir())
		if exitCode(err) != 2 || !strings.Contains(err.Error(), file) {
			t.Errorf("backfill -f %s --brokers NOBODY: exit %d (%v), want 2 naming the file", file, exitCode(err), err)
		}
	}
}

// TestBenchLatencyChecksItsFlagsBeforeTheBroker: bench latency checks its config before
// it asks the brokers it is given: a --event-size over the bound with brokers that do not
// answer is exit 2 naming the flag (it was "no broker answered", exit 1), and brokers
// named only by HINDSIGHT_BROKERS are asked too (the environment was applied after the
// ping, which then asked none).
func TestBenchLatencyChecksItsFlagsBeforeTheBroker(t *testing.T) {
	nobody := noBroker(t)
	_, err := run(t, "", "bench", "latency", "--brokers", nobody, "--event-size", "2000000", "--quiet")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--event-size") {
		t.Errorf("bench latency --brokers NOBODY --event-size 2000000: exit %d (%v), want 2 naming --event-size", exitCode(err), err)
	}
	t.Setenv(envName("brokers"), nobody)
	_, err = run(t, "", "bench", "latency", "--quiet")
	if err == nil || !strings.Contains(err.Error(), "no broker answered") {
		t.Errorf("bench latency with %s=NOBODY: %v, want the brokers asked (no broker answered)", envName("brokers"), err)
	}
}
