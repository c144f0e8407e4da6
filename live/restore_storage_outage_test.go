package live_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestStorageOutageAtRestartKeepsState: the snapshot store (S3) is down for a few
// seconds while a daemon restarts (storage and daemons coming back together after a
// power cut). Kafka's log bounds were tried again with backoff, the snapshot listing
// only once (the S3 client's own three attempts, about 4 s): the partition started
// from an empty state and, under --no-backfill, its counts restarted at the resume
// offset for good, though the snapshot was readable seconds later. The store's reads
// are now tried again for up to RestorePatience (15 s).
func TestStorageOutageAtRestartKeepsState(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a storage outage at restart (7 s): make test runs it")
	}
	t.Parallel()
	const group = "restore-outage"
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	s3 := s3test.Start(t, "state")
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	var history []*kgo.Record
	for range 12 {
		history = append(history, livetest.Event("a", `{"type":"login"}`))
	}
	b.Produce(t, history...)
	cfg := func(c *live.Config) { c.Group, c.StateURL, c.NoBackfill = group, s3.URL(), true }
	first, stop := livetest.StartLive(t, b, cfg)
	poll.Until(t, 20*time.Second, "every event counted", func() bool { return first.EventsSeen() == 12 })
	stop() // the shutdown snapshot holds the 12
	<-first.Done()

	// Down longer than the S3 client's own attempts last.
	const outage = 6 * time.Second
	s3.Stop()
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		time.Sleep(outage)
		if err := s3.Restart(); err != nil {
			t.Error(err)
		}
	}()
	second, _ := livetest.StartLive(t, b, cfg)
	// Meanwhile /readyz names the wait, not only that no partition is assigned.
	readyz := func() contract.Readiness {
		var rd contract.Readiness
		livetest.GetJSON(t, "http://"+second.HTTPAddr()+"/readyz", &rd)
		return rd
	}
	const waiting = "assigned partitions wait for the snapshot store (partition 0's snapshots)"
	poll.Until(t, outage, "/readyz naming the restore's wait", func() bool {
		return slices.ContainsFunc(readyz().Reasons, func(r string) bool { return strings.HasPrefix(r, waiting) })
	})
	// The partition is published once its restore ends, snapshot or not.
	poll.Until(t, 30*time.Second, "the partition restored", func() bool { return len(second.State().Partitions) == 1 })
	if rd := readyz(); slices.ContainsFunc(rd.Reasons, func(r string) bool { return strings.HasPrefix(r, waiting) }) {
		t.Errorf("/readyz after the restore still says it waits: %q", rd.Reasons)
	}
	<-restarted
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	poll.Until(t, 20*time.Second, "the new event counted", func() bool { return second.EventsSeen() == 1 })
	cv, ok := second.Count(r.Key(), "a")
	if !ok || cv.Count != 13 {
		t.Fatalf("after a %v storage outage at restart: count %d (status %q), want 13: the 12 events of the snapshot are gone", outage, cv.Count, cv.Status)
	}
	if st := second.State().Partitions[0]; st.Restored == nil {
		t.Errorf("/v1/state shows no restored snapshot (last error %q)", st.LastError)
	}
}

// TestStorageDownPastRestorePatience: a snapshot store that stays down is waited for up
// to --restore-patience, no longer: the partition then starts without its snapshot and
// says so, as before the restore waited (log, hindsight_snapshot_restore_failures_total,
// /v1/state).
func TestStorageDownPastRestorePatience(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the restore patience (8 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	s3 := s3test.Start(t, "state")
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	s3.Stop()
	reg := prometheus.NewRegistry()
	// The store still down at the stop, its snapshot is not stored: ErrFinalSnapshot.
	d, _ := livetest.StartLiveStoppingWith(t, b, func(c *live.Config) {
		c.Group, c.StateURL, c.NoBackfill, c.Registry = "restore-outage-long", s3.URL(), true, reg
		c.RestorePatience = time.Second
	}, live.ErrFinalSnapshot)
	poll.Until(t, 30*time.Second, "the partition published", func() bool { return len(d.State().Partitions) == 1 })
	if st := d.State().Partitions[0]; !strings.Contains(st.LastError, "listing snapshots") || len(st.Problems) == 0 {
		t.Errorf("/v1/state: last error %q, problems %q; want the failed listing, and a problem", st.LastError, st.Problems)
	}
	if n := promtest.Sum(t, reg, "hindsight_snapshot_restore_failures_total"); n != 1 {
		t.Errorf("hindsight_snapshot_restore_failures_total %v, want 1", n)
	}
	// Then an event read gives the partition a position, so the stop has a snapshot to store:
	// stopped before its first fetch, a partition has none and the stop stores nothing.
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))
	poll.Until(t, 20*time.Second, "the event counted", func() bool { return d.EventsSeen() == 1 })
}
