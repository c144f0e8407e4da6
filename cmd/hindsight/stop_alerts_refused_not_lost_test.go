package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestStopWhileAlertsRefusedSaysNothingLost: `hindsight live` raises ten alerts while
// the alerts topic answers every produce NOT_LEADER_FOR_PARTITION (retriable), and is
// stopped with SIGTERM. Nothing is lost: the events' offsets stay uncommitted and the
// snapshot stays at offset 0, so the next run raises the ten alerts again (checked
// below, the oracle). But the stop logged, for each alert, at ERROR "producing a record
// made for events failed; it goes to the dead-letter topic" and then "producing a dead
// letter failed; the record it holds is lost" (ingest.Rerouter.Failed: the closing
// client's ErrClientClosed taken for a failure for good, its dead letter produced on
// the same closed client): an operator reads ten lost alerts, and no dead letter was
// written either.
func TestStopWhileAlertsRefusedSaysNothingLost(t *testing.T) {
	if testing.Short() {
		t.Skip("a stop waiting out refused alerts (about 7 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	dir := t.TempDir()
	hindsightBinary(t)
	r := livetest.ParseRule(t, `{"id":"any","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":1}`)
	b.Produce(t, livetest.Upsert(t, r))
	var failing atomic.Bool
	failing.Store(true)
	var refused atomic.Int64
	b.FailProduces(t, "alerts", kerr.NotLeaderForPartition, func(*kmsg.ProduceRequest) bool {
		if failing.Load() {
			refused.Add(1)
			return true
		}
		return false
	})
	args := []string{"--brokers", b.Addr, "--group", "ar", "--lake", "file://" + filepath.Join(dir, "lake"),
		"--commit-interval", "100ms", "--snapshot-interval", "250ms", "--shutdown-timeout", "2s", "--backfill-cache-dir", filepath.Join(dir, "cache")}
	p := startLiveProc(t, dir, "run0", args...)
	p.waitHTTP(t)
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, livetest.Event(fmt.Sprintf("c-%d", i), `{"type":"x"}`))
	}
	b.Produce(t, recs...)
	// One refusal is enough: every later produce is refused too, so from then until
	// the stop the alerts wait in the client for a retry. (kgo retries a
	// NOT_LEADER_FOR_PARTITION after its next metadata refresh, at most one each 5 s:
	// waiting for three refusals took 10 s.)
	poll.Until(t, 60*time.Second, "the alerts' produces to be refused", func() bool { return refused.Load() >= 1 })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second): // a hang guard only
		t.Fatalf("live has not exited 60 s after SIGTERM:\n%s", p.tail(20))
	}
	stopLog := p.logText()
	if n := b.TopicRecords(t, "alerts"); n != 0 {
		t.Fatalf("%d alerts in the topic while it refused every produce", n)
	}

	failing.Store(false)
	p = startLiveProc(t, dir, "run1", args...)
	poll.Until(t, 60*time.Second, "the ten alerts raised again", func() bool { return b.TopicRecords(t, "alerts") >= 10 })
	ids := map[string]bool{}
	for _, a := range livetest.Alerts(t, b.Consume(t, "alerts", 10, 10*time.Second)) {
		ids[a.AlertID] = true
	}
	if len(ids) != 10 {
		t.Fatalf("after the restart %d distinct alerts, want 10", len(ids))
	}
	if n := b.TopicRecords(t, "events.dlq"); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	lost := regexp.MustCompile(`(?m)^.*(is lost|goes to the dead-letter topic).*$`).FindAllString(stopLog, -1)
	if len(lost) > 0 {
		t.Errorf("the stop logged %d lines saying alerts were lost or dead-lettered, though the restart raised all 10 again and no dead letter was written; the first:\n%s",
			len(lost), strings.Join(lost[:min(2, len(lost))], "\n"))
	}
}
