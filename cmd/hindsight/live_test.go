package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binName is the name the command runs under in tests.
const binName = "hindsight"

// hindsightBinary returns the hindsight command to run as a process: this test
// binary — package main, linked once with the tests rather than a second time by go
// build (DuckDB makes a link take 15 seconds) — under a link named hindsight, which
// TestMain runs as main().
func hindsightBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			buildErr = fmt.Errorf("locating the test binary: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "hindsight-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, binName)
		if err := os.Symlink(self, binPath); err != nil {
			buildErr = fmt.Errorf("linking the test binary as %s: %w", binName, err)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: `make test-deps` installs it (Debian package kcat)")
	}
	return p
}

// kcat runs kcat with args and stdin, bounded by 30s, and returns its stdout.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcatPath(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// startBinary starts the built hindsight with args and returns it with a channel of its
// stderr lines (closed at exit).
func startBinary(t *testing.T, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(hindsightBinary(t), args...)
	cmd.Dir = t.TempDir() // what it keeps by default (./hindsight-data) is the test's
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // never block the daemon on a slow test
			}
		}
	}()
	return cmd, lines
}

// waitLine returns the first submatch of re in the process's stderr lines.
func waitLine(t *testing.T, lines <-chan string, re *regexp.Regexp, seen *[]string) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("hindsight exited before logging %v; it logged:\n%s", re, strings.Join(*seen, "\n"))
			}
			*seen = append(*seen, l)
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-timeout:
			t.Fatalf("no log line matching %v within 60s; it logged:\n%s", re, strings.Join(*seen, "\n"))
		}
	}
}

// TestLiveBinaryWithKcat drives the built binary as an operator would: hindsight live
// against a broker, a rule and events produced with kcat, the alert read back with kcat.
func TestLiveBinaryWithKcat(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 4})
	cmd, lines := startBinary(t, "live", "--brokers", b.Addr, "--http", "127.0.0.1:0", "--group", "kcat-test", "--commit-interval", "200ms",
		"--lake", "file://"+t.TempDir())
	var logged []string
	httpAddr := waitLine(t, lines, regexp.MustCompile(`msg="http listening" addr=(\S+)`), &logged)
	waitLine(t, lines, regexp.MustCompile(`msg="(rules loaded)"`), &logged)

	// A rule, keyed SCOPE/ID, and an invalid control, both with kcat.
	ruleJSON := `{"op":"upsert","rule":{"id":"kcat-admin-fail","scope":"*","version":1,"name":"Admin login failures","when":{"all":[{"path":"$.type","op":"==","value":"login.failed"},{"path":"$.actor.roles[*]","op":"==","value":"admin"}]},"threshold":3}}`
	badJSON := `{"op":"upsert","rule":{"id":"kcat-bad","scope":"*","when":{"path":"$.type[","op":"exists"},"threshold":1}}`
	kcat(t, "*/kcat-admin-fail|"+ruleJSON+"\n*/kcat-bad|"+badJSON+"\n", "-b", b.Addr, "-P", "-t", "controls", "-K", "|")
	base := "http://" + httpAddr
	poll.Until(t, 30*time.Second, "the rule on /v1/rules", func() bool {
		var body struct {
			Rules   []contract.RuleView
			Invalid []contract.RejectedControl
		}
		return livetest.GetJSON(t, base+"/v1/rules", &body) == http.StatusOK && len(body.Rules) == 1 && len(body.Invalid) == 1
	})

	failed := `{"type":"login.failed","actor":{"roles":["member","admin"]},"geo":"DE"}`
	events := strings.Join([]string{
		"c-42|" + failed,
		"c-42|" + `{"type":"login.succeeded","actor":{"roles":["admin"]}}`,
		"c-7|" + failed,
		"c-42|" + failed,
		"c-42|" + `{"type":"login.failed"`, // malformed: dead letter
		"c-42|" + failed,                   // the third: the crossing
		"c-42|" + failed,
	}, "\n") + "\n"
	kcat(t, events, "-b", b.Addr, "-P", "-t", "events", "-K", "|")

	var alert contract.Alert
	poll.Until(t, 30*time.Second, "an alert on the alerts topic", func() bool {
		out := kcat(t, "", "-b", b.Addr, "-C", "-t", "alerts", "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n")
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, ok := strings.Cut(l, "\t")
			if ok && k == "c-42" {
				return json.Unmarshal([]byte(v), &alert) == nil
			}
		}
		return false
	})
	// Where did c-42's third admin failure land? Ask kcat too.
	var crossing string
	n := 0
	for _, l := range strings.Split(kcat(t, "", "-b", b.Addr, "-C", "-t", "events", "-o", "beginning", "-e", "-q", "-f", "%k %p %o %s\n"), "\n") {
		if strings.HasPrefix(l, "c-42 ") && strings.HasSuffix(l, failed) {
			if n++; n == 3 {
				crossing = strings.Join(strings.Fields(l)[1:3], " ")
			}
		}
	}
	t.Logf("alert read back with kcat: %+v (crossing event at partition/offset %s)", alert, crossing)
	if got := fmt.Sprintf("%d %d", alert.Partition, alert.Offset); got != crossing {
		t.Errorf("alert at partition/offset %s, the crossing event is at %s", got, crossing)
	}
	if alert.RuleID != "kcat-admin-fail" || alert.Scope != "*" || alert.Version != 1 || alert.Customer != "c-42" ||
		alert.Count != 3 || alert.Threshold.Count() != 3 || alert.Source != "live" || alert.AlertID != contract.AlertID("*", "kcat-admin-fail", 1, "c-42", 3) {
		t.Errorf("alert = %+v", alert)
	}

	dlq := kcat(t, "", "-b", b.Addr, "-C", "-t", "events.dlq", "-o", "beginning", "-e", "-q", "-c", "1", "-f", "%k|%h|%s\n")
	if !strings.Contains(dlq, "hindsight.dlq.reason=invalid_json") || !strings.HasPrefix(dlq, "c-42|") || !strings.Contains(dlq, `{"type":"login.failed"`) {
		t.Errorf("dead letter = %q", dlq)
	}
	status := kcat(t, "", "-b", b.Addr, "-C", "-t", "controls.status", "-o", "beginning", "-e", "-q", "-f", "%k %s\n")
	if !strings.Contains(status, `*/kcat-bad {"key":"*/kcat-bad","partition":0,"offset":1,"status":"invalid"`) || !strings.Contains(status, `"column"`) {
		t.Errorf("control statuses = %q", status)
	}

	// SIGTERM: drain, commit, exit 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("hindsight live after SIGTERM: %v (want exit 0)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hindsight live did not exit within 30s of SIGTERM")
	}
	committed := kcatGroupOffsets(t, b)
	if committed == 0 {
		t.Errorf("no offsets committed for group kcat-test")
	}
}

// kcatGroupOffsets sums the offsets committed by group kcat-test, read with the admin API.
func kcatGroupOffsets(t *testing.T, b *kafkatest.Broker) int64 {
	t.Helper()
	var sum int64
	poll.Until(t, 10*time.Second, "committed offsets", func() bool {
		sum = b.GroupCommitted(t, "kcat-test", "events")
		return sum == 7
	})
	return sum
}

func TestRulesKafkaCommands(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	d, _ := livetest.StartLive(t, b, nil)
	sample := filepath.Join("..", "..", "testdata", "rules", "sample.yaml")

	out, err := run(t, "", "rules", "apply", "-f", sample, "--brokers", b.Addr, "--wait", "20s")
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if c := strings.Count(out, "published  "); c != 7 || strings.Count(out, "applied    ") != 7 {
		t.Errorf("apply output:\n%s", out)
	}
	poll.Until(t, 20*time.Second, "7 rules in the daemon", func() bool { return d.Registry().Len() == 7 })

	out, err = run(t, "", "rules", "apply", "-f", sample, "--brokers", b.Addr)
	if err != nil || strings.Count(out, "unchanged  ") != 7 || strings.Contains(out, "published") {
		t.Errorf("re-apply: %v\n%s", err, out)
	}

	dir := t.TempDir()
	changed := filepath.Join(dir, "changed.yaml")
	data, _ := os.ReadFile(sample)
	if err := os.WriteFile(changed, []byte(strings.Replace(string(data), "threshold: 3", "threshold: 4", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	before := b.TopicRecords(t, "controls")
	out, err = run(t, "", "rules", "apply", "-f", changed, "--brokers", b.Addr)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "not newer") || !strings.Contains(err.Error(), "changed.yaml:") {
		t.Errorf("changed without a new version: exit %d, %v\n%s", exitCode(err), err, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- id: ok\n  scope: \"*\"\n  when: {path: $.type}\n  threshold: 1\n- id: broken\n  scope: \"*\"\n  when: {path: \"$.type[\"}\n  threshold: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "", "rules", "apply", "-f", bad, "--brokers", b.Addr)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "bad.yaml:5: rule #2 (id \"broken\")") || !strings.Contains(err.Error(), "column") {
		t.Errorf("invalid file: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if after := b.TopicRecords(t, "controls"); after != before {
		t.Errorf("a rejected file published %d controls", after-before)
	}

	out, err = run(t, "", "rules", "list", "--brokers", b.Addr)
	if err != nil || !strings.Contains(out, "c-0000  payroll-downloads") || !strings.Contains(out, "7 active rules") {
		t.Errorf("list: %v\n%s", err, out)
	}
	out, err = run(t, "", "rules", "delete", "payroll-downloads", "--scope", "c-0000", "--brokers", b.Addr, "--wait", "20s")
	if err != nil || !strings.Contains(out, "applied    c-0000/payroll-downloads") {
		t.Errorf("delete: %v\n%s", err, out)
	}
	if _, ok := d.Registry().Get(rule.Key{Scope: "c-0000", ID: "payroll-downloads"}); ok {
		t.Errorf("rule still active after delete")
	}
	// The delete names the version it deleted, so that the fold refuses an edit of it
	// racing the delete (an apply whose check ran before it) instead of making it again.
	ctls := b.Consume(t, "controls", int(b.TopicRecords(t, "controls")), 10*time.Second)
	if last := ctls[len(ctls)-1]; string(last.Key) != "c-0000/payroll-downloads" || !strings.Contains(string(last.Value), `"op":"delete"`) || !strings.Contains(string(last.Value), `"version":1`) {
		t.Errorf("the delete published: %s %s, want a delete of version 1", last.Key, last.Value)
	}
	_, err = run(t, "", "rules", "delete", "payroll-downloads", "--brokers", b.Addr) // scope * has no such rule
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "no active rule */payroll-downloads") {
		t.Errorf("delete of an unknown rule: exit %d, %v", exitCode(err), err)
	}
	out, err = run(t, "", "rules", "list", "--json", "--brokers", b.Addr)
	var listed struct{ Rules []contract.RuleView }
	if err != nil || json.Unmarshal([]byte(out), &listed) != nil || len(listed.Rules) != 6 {
		t.Errorf("list --json: %v\n%s", err, out)
	}
	// Made again at the deleted rule's version, its alerts would repeat the deleted
	// rule's alert ids: apply asks for a newer version, and publishes nothing. The
	// delete named version 1, so it retired version 2 too (an edit of version 1 racing
	// the delete publishes that one, and the fold refuses it).
	before = b.TopicRecords(t, "controls")
	out, err = run(t, "", "rules", "apply", "-f", sample, "--brokers", b.Addr)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "is not newer than version 2, the highest the deleted rule c-0000/payroll-downloads retired") {
		t.Errorf("the deleted rule made again at its version: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if after := b.TopicRecords(t, "controls"); after != before {
		t.Errorf("a refused apply published %d controls", after-before)
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	t.Setenv("HINDSIGHT_BROKERS", "h1:9092,h2:9092")
	t.Setenv("HINDSIGHT_SASL_MECHANISM", "scram-sha-512")
	t.Setenv("HINDSIGHT_GROUP", "from-env")
	var got []string
	cmd := &cobra.Command{Use: "x", RunE: func(cmd *cobra.Command, _ []string) error {
		if err := applyEnv(cmd); err != nil {
			return err
		}
		for _, n := range []string{"brokers", "sasl-mechanism", "group"} {
			got = append(got, cmd.Flags().Lookup(n).Value.String())
		}
		return nil
	}}
	cmd.Flags().StringSlice("brokers", nil, "")
	cmd.Flags().String("sasl-mechanism", "", "")
	cmd.Flags().String("group", "default", "")
	cmd.SetArgs([]string{"--group", "from-flag"})
	cmd.SetOut(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"[h1:9092,h2:9092]", "scram-sha-512", "from-flag"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("flags = %v, want %v (environment fills, the command line wins)", got, want)
	}
}

// hindsight live --embedded-retention-bytes sets the embedded broker's retention on the
// events and alerts topics only, and /metrics shows the limit, as it shows
// --archive-retention, the lake's, and the embedded archiver's buffer limit.
func TestLiveEmbeddedRetention(t *testing.T) {
	t.Parallel()
	_, lines := startBinary(t, "live", "--ephemeral", "--embedded-addr", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--embedded-retention-bytes", "65536", "--archive-retention", "24h", "--archive-max-buffered-bytes", "134217728")
	var logged []string
	brokerAddr := waitLine(t, lines, regexp.MustCompile(`msg="embedded broker listening" addr=(\S+)`), &logged)
	httpAddr := waitLine(t, lines, regexp.MustCompile(`msg="http listening" addr=(\S+)`), &logged)
	got := retentionByTopic(t, brokerAddr, "events", "alerts", "controls")
	if want := map[string]string{"events": "65536", "alerts": "65536", "controls": "-1"}; !maps.Equal(got, want) {
		t.Errorf("retention.bytes by topic %v, want %v", got, want)
	}
	metrics := livetest.GetText(t, "http://"+httpAddr+"/metrics")
	for _, want := range []string{`hindsight_limit{name="embedded_retention_bytes"} 65536`, `hindsight_limit{name="archive_retention_seconds"} 86400`,
		`hindsight_limit{name="archive_max_buffered_bytes"} 1.34217728e+08`, `hindsight_limit_reached_total{name="archive_max_buffered_bytes"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}
}
