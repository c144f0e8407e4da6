package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

var embeddedLine = regexp.MustCompile(`msg="embedded broker listening" addr=(\S+)`)

// TestLiveKeepsDataAcrossRestart: hindsight live on its embedded broker keeps the
// broker's log, the lake and the state under ./hindsight-data by default: after a
// clean stop and a start, the rule, the events and the counts are still there, and
// `lake stats` run from the same directory finds the lake without flags. A command
// that reads a lake where there is none says where it looked and makes nothing.
func TestLiveKeepsDataAcrossRestart(t *testing.T) {
	// Not parallel: t.Chdir changes the whole process's working directory.
	if testing.Short() {
		t.Skip("slow: two runs of the built binary: make test runs it")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "hindsight-data")
	start := func(name string) (*liveProc, string) {
		p := startLiveProc(t, dir, name, "--data-dir", data, "--embedded-addr", "127.0.0.1:0", "--archive-roll-age", "200ms",
			"--snapshot-interval", "200ms")
		p.waitHTTP(t)
		var broker string
		poll.Until(t, 30*time.Second, name+"'s embedded broker", func() bool {
			m := embeddedLine.FindStringSubmatch(p.logText())
			if m != nil {
				broker = m[1]
			}
			return m != nil
		})
		return p, broker
	}
	first, broker := start("first")
	rules := filepath.Join(dir, "rules.yaml")
	writeFile(t, rules, "rules:\n  - {id: fails, scope: \"*\", when: {path: $.type, op: ==, value: login.failed}, threshold: 5}\n")
	if out, err := run(t, "", "rules", "apply", "-f", rules, "--brokers", broker, "--wait", "10s"); err != nil {
		t.Fatalf("rules apply: %v\n%s", err, out)
	}
	events := strings.Repeat(`{"customer":"c-1","type":"login.failed"}`+"\n", 3)
	if out, err := run(t, events, "produce", "--brokers", broker, "--quiet"); err != nil {
		t.Fatalf("produce: %v\n%s", err, out)
	}
	count := func(p *liveProc) int64 {
		var v contract.CountView
		if livetest.GetJSON(t, fmt.Sprintf("http://%s/v1/counts?scope=*&rule=fails&customer=c-1", p.http), &v) != 200 {
			return -1
		}
		return v.Count
	}
	poll.Until(t, 30*time.Second, "c-1's count of 3", func() bool { return count(first) == 3 })
	_ = first.cmd.Process.Signal(syscall.SIGINT)
	<-first.exited

	second, broker2 := start("second")
	poll.Until(t, 30*time.Second, "the count kept across the restart", func() bool { return count(second) == 3 })
	if out, err := run(t, `{"customer":"c-1","type":"login.failed"}`+"\n", "produce", "--brokers", broker2, "--quiet"); err != nil {
		t.Fatalf("produce after the restart: %v\n%s", err, out)
	}
	poll.Until(t, 30*time.Second, "the count going on from 3", func() bool { return count(second) == 4 })

	t.Chdir(dir)
	poll.Until(t, 30*time.Second, "lake stats, without flags, to see the archived events", func() bool {
		out, err := run(t, "", "lake", "stats", "--json")
		return err == nil && strings.Contains(out, `"rows": 4`)
	})
	t.Chdir(t.TempDir())
	out, err := run(t, "", "lake", "stats")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "no lake at file://./hindsight-data/lake") {
		t.Errorf("lake stats where there is no lake: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if _, err := run(t, "", "backtest", "-f", rules); err == nil || !strings.Contains(err.Error(), "no lake at") {
		t.Errorf("backtest where there is no lake: %v", err)
	}
}
