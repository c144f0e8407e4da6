package live_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestStopDuringRestoreKeepsTheSnapshot: a daemon is stopped while its partition's
// restore waits for --restore-from (down), its --state store up and holding no snapshot
// of the partition. The restore ran on a context the stop did not reach; it now ends
// with the stop, as a stop: no restore failure counted, and, its state unknown, the
// partition stores no snapshot (an empty one in --state would be restored in place of
// the seed) and commits no offset. The next daemon, the seed's store back, restores
// the seed's counts.
func TestStopDuringRestoreKeepsTheSnapshot(t *testing.T) {
	t.Parallel()
	const group = "restore-stop"
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	seed, state := s3test.Start(t, "seed"), s3test.Start(t, "state")
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	for range 12 {
		b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	}
	first, stop := livetest.StartLive(t, b, func(c *live.Config) { c.Group, c.StateURL = group, seed.URL() })
	poll.Until(t, 20*time.Second, "every event counted", func() bool { return first.EventsSeen() == 12 })
	stop() // the shutdown snapshot, in the seed's store, holds the 12
	<-first.Done()

	seed.Stop()
	reg := prometheus.NewRegistry()
	cfg := func(c *live.Config) {
		c.Group, c.StateURL, c.RestoreFrom, c.Registry = group, state.URL(), seed.URL(), reg
		c.RestorePatience = 10 * time.Minute
	}
	second, stop := livetest.StartLive(t, b, cfg)
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	const waiting = "assigned partitions wait for the snapshot store (partition 0's snapshots)"
	poll.Until(t, 30*time.Second, "the restore waiting for the seed's store", func() bool {
		var rd contract.Readiness
		livetest.GetJSON(t, "http://"+second.HTTPAddr()+"/readyz", &rd)
		return slices.ContainsFunc(rd.Reasons, func(r string) bool { return strings.HasPrefix(r, waiting) })
	})
	stop()
	<-second.Done()
	if err := second.Wait(); err != nil {
		t.Errorf("the stop during the restore: %v", err)
	}
	if n := promtest.Sum(t, reg, "hindsight_snapshot_restore_failures_total"); n != 0 {
		t.Errorf("hindsight_snapshot_restore_failures_total %v after a stop during the restore, want 0", n)
	}

	if err := seed.Restart(); err != nil {
		t.Fatal(err)
	}
	cfg = func(c *live.Config) { c.Group, c.StateURL, c.RestoreFrom = group, state.URL(), seed.URL() }
	third, _ := livetest.StartLive(t, b, cfg)
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	poll.Until(t, 30*time.Second, "both later events counted", func() bool { return third.EventsSeen() == 2 })
	if cv, ok := third.Count(r.Key(), "a"); !ok || cv.Count != 14 {
		t.Errorf("after a stop during the restore: count %d (status %q), want 14 (the seed's 12 and 2): the abandoned restore stored a snapshot or committed offsets of a state it never had",
			cv.Count, cv.Status)
	}
}
