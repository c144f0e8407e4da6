package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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

// TestTutorial follows docs/tutorial.md against the built binary: it runs the
// tutorial's own command lines (its fixed addresses replaced by the test's free ports,
// bin/hindsight by the binary), in order, in a fresh directory, and checks that each
// step prints what the tutorial says it prints. Changing a command or an output in
// the tutorial without the product (or the other way round) fails it.
func TestTutorial(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: the tutorial against the built binary, two daemon runs: make test runs it")
	}
	text, err := os.ReadFile("../../docs/tutorial.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(sh|yaml)\n(.*?)```").FindAllStringSubmatch(string(text), -1)
	var sh, yaml []string
	for _, b := range blocks {
		if b[1] == "sh" {
			sh = append(sh, strings.TrimSpace(b[2]))
		} else {
			yaml = append(yaml, b[2])
		}
	}
	if len(sh) != 9 || len(yaml) != 2 {
		t.Fatalf("the tutorial has %d sh and %d yaml blocks; this test follows 9 and 2", len(sh), len(yaml))
	}
	bin := hindsightBinary(t)
	kcatBin := kcatPath(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yaml"), yaml[0])

	// Step 1 (and 7): the daemon, on free ports, keeping its data in dir.
	if sh[0] != "make build\nbin/hindsight live" || sh[6] != "bin/hindsight live" {
		t.Fatalf("steps 1 and 7 are %q and %q; this test starts the daemon for them", sh[0], sh[6])
	}
	var broker, httpAddr string
	startDaemon := func(name string) (stop func()) {
		var stopIt func()
		broker, httpAddr, stopIt = startDaemonIn(t, bin, dir, name)
		return stopIt
	}
	// step runs one of the tutorial's command lines and checks its output holds want.
	step := func(n int, want ...string) string {
		t.Helper()
		line := strings.NewReplacer("bin/hindsight", bin, "127.0.0.1:9092", broker, "127.0.0.1:8080", httpAddr, "kcat ", kcatBin+" ").Replace(sh[n-1])
		cmd := exec.Command("sh", "-c", line)
		// The commands' default broker is 127.0.0.1:9092; the test's is elsewhere.
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "HINDSIGHT_BROKERS="+broker)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("step %d, %s: %v\n%s", n, sh[n-1], err, out)
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("step %d, %s: the output lacks %q:\n%s", n, sh[n-1], w, out)
			}
		}
		return string(out)
	}
	count := func(ruleID string) (view contract.CountView) {
		livetest.GetJSON(t, fmt.Sprintf("http://%s/v1/counts?scope=*&rule=%s&customer=c-042", httpAddr, ruleID), &view)
		return view
	}
	anaWindow := func(v contract.CountView) (contract.WindowValue, bool) {
		for _, w := range v.Windows {
			if string(w.Group["$.user"]) == `"ana"` {
				return w, true
			}
		}
		return contract.WindowValue{}, false
	}

	stop := startDaemon("live")
	step(2, "--- PASS: failed-logins/the third failure alerts", "ok  rules.yaml  1 test")
	step(3, "applied    */failed-logins")
	step(4, "3 events sent to events on "+broker+" (1 customer)")

	// Step 5: the count, as curl would print it (read here, curl being optional).
	if !strings.Contains(sh[4], "curl -s '127.0.0.1:8080/v1/counts?scope=*&rule=failed-logins&customer=c-042'") {
		t.Errorf("step 5 is %q", sh[4])
	}
	poll.Until(t, 30*time.Second, "ana's count of 3, alerted", func() bool {
		w, ok := anaWindow(count("failed-logins"))
		return ok && w.Count == 3 && w.Alerted
	})
	if page := livetest.GetText(t, "http://"+httpAddr+"/"); !strings.Contains(page, "<title>") {
		t.Errorf("the console at / serves no page")
	}

	// Step 6: the alert, read with kcat.
	var alert string
	poll.Until(t, 30*time.Second, "the alert on the alerts topic", func() bool {
		alert = step(6)
		return strings.Contains(alert, `"rule_id":"failed-logins"`)
	})
	for _, w := range []string{`"customer":"c-042"`, `"group":{"$.user":"ana"}`, `"severity":"high"`, `"context":{"$.ip":"10.0.0.9"}`} {
		if !strings.Contains(alert, w) {
			t.Errorf("the alert lacks %s: %s", w, alert)
		}
	}
	var a contract.Alert
	if err := json.Unmarshal([]byte(strings.TrimSpace(alert)), &a); err != nil || a.Count != 3 {
		t.Errorf("the alert record %s: %v", alert, err)
	}

	// Step 7: stop, start again: the count is still there.
	stop()
	stop = startDaemon("live-again")
	poll.Until(t, 30*time.Second, "ana's count of 3 after the restart", func() bool {
		w, ok := anaWindow(count("failed-logins"))
		return ok && w.Count == 3
	})

	// Step 8: a second rule, handed its history.
	writeFile(t, filepath.Join(dir, "rules.yaml"), yaml[0]+yaml[1])
	step(8, "unchanged  */failed-logins version 1", "applied    */ip-hopping")
	poll.Until(t, 60*time.Second, "ip-hopping's count for ana from history", func() bool {
		w, ok := anaWindow(count("ip-hopping"))
		return ok && w.Value != nil && *w.Value == 2
	})

	// Step 9: the backtest.
	step(9, "failed-logins", "ip-hopping")
	stop()
}

// startDaemonIn starts the binary's `live` in dir on free ports, as a user would start
// it there (its data in dir/hindsight-data), and waits for its broker and HTTP server;
// stop interrupts it and checks it stopped cleanly.
func startDaemonIn(t *testing.T, bin, dir, name string) (broker, httpAddr string, stop func()) {
	t.Helper()
	p := &liveProc{name: name, log: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p.cmd = exec.Command(bin, "live", "--embedded-addr", "127.0.0.1:0", "--http", "127.0.0.1:0")
	p.cmd.Dir, p.cmd.Stdout, p.cmd.Stderr = dir, f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	httpAddr = p.waitHTTP(t)
	poll.Until(t, 30*time.Second, name+"'s embedded broker", func() bool {
		m := embeddedLine.FindStringSubmatch(p.logText())
		if m != nil {
			broker = m[1]
		}
		return m != nil
	})
	return broker, httpAddr, func() {
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		<-p.exited
		if !strings.Contains(p.logText(), `msg="live daemon stopped"`) {
			t.Errorf("%s did not stop cleanly:\n%s", name, p.tail(20))
		}
	}
}
