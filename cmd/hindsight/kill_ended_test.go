package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
	"github.com/hindsightdev/hindsight/rule"
)

// TestKill9EndedVersionResolvesWhatItOpenedAfterTheSnapshot: a windowed rule with
// resolve fires for user a, and the daemon stops (its snapshot holds a's incident
// open); restarted, it fires for b, and is killed with SIGKILL before another snapshot;
// the rule is deleted while it is down. Restarted again, it resolves both: a's from the
// snapshot, b's — opened by events after the snapshot, by a process that is gone — by
// replaying the ended version over them. (Before, b's firing alert stayed firing for
// ever: the restore ended the incidents of the snapshot's state only.)
func TestKill9EndedVersionResolvesWhatItOpenedAfterTheSnapshot(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: kill -9 runs: make test runs it")
	}
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	hindsightBinary(t)
	r := livetest.ParseRule(t, `{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true,"suppress":"1h"}}`)
	b.Produce(t, livetest.Upsert(t, r))
	login := func(user string, sec int) *kgo.Record {
		at := time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC).Format(time.RFC3339Nano)
		return livetest.Event("c-1", fmt.Sprintf(`{"type":"login.failed","user":%q,"ts":%q}`, user, at))
	}
	args := []string{"--brokers", b.Addr, "--group", "kend", "--lake", "file://" + filepath.Join(dir, "lake"),
		"--snapshot-interval", "1m", "--instance-id", "kend-0", "--backfill-cache-dir", filepath.Join(dir, "cache")}
	waitAlerts := func(n int) []contract.Alert {
		t.Helper()
		poll.Until(t, 60*time.Second, fmt.Sprintf("%d alert records", n), func() bool { return b.TopicRecords(t, "alerts") >= int64(n) })
		return livetest.Alerts(t, b.Consume(t, "alerts", n, 10*time.Second))
	}

	p := startLiveProc(t, dir, "run0", args...)
	b.Produce(t, login("a", 1), login("a", 2))
	waitAlerts(1)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.exited // its shutdown snapshot, at offset 2, holds a's incident open

	p = startLiveProc(t, dir, "run1", args...)
	b.Produce(t, login("b", 3), login("b", 4))
	waitAlerts(2)
	p.kill() // no snapshot since offset 2
	b.Produce(t, livetest.Delete(t, rule.Key{Scope: "*", ID: "bursts"}))

	p = startLiveProc(t, dir, "run2", args...)
	alerts := waitAlerts(4)
	// A record too many would be in once run2 has stopped: its shutdown hands every
	// alert it raised to the broker.
	stopLiveProcs(t, p)
	if n := b.TopicRecords(t, "alerts"); n != 4 {
		t.Errorf("%d alert records, want 4", n)
	}
	var got []string
	status := map[string][]string{}
	for _, a := range alerts {
		got = append(got, fmt.Sprintf("%s %s @%d", a.Group["$.user"], a.Status, a.Offset))
		status[a.AlertID] = append(status[a.AlertID], a.Status)
	}
	want := []string{`"a" firing @1`, `"b" firing @3`, `"a" resolved @2`, `"b" resolved @4`}
	if !slices.Equal(got, want) {
		t.Errorf("alerts topic holds %q, want %q", got, want)
	}
	for id, st := range status {
		if !slices.Equal(st, []string{contract.StatusFiring, contract.StatusResolved}) {
			t.Errorf("alert %s: %q, want firing then resolved", id, st)
		}
	}
	if t.Failed() {
		t.Logf("run2's log:\n%s", p.tail(30))
	}
}
