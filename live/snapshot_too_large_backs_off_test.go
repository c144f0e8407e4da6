package live_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSnapshotRefusedForSizeIsNotEncodedEveryInterval: a partition whose state encodes
// above --max-snapshot-bytes had its whole state copied under its lock and encoded at
// every tick of the snapshot loop, only to be refused again: with a large state, CPU
// and a stalled partition every interval for ever. After a refusal the interval
// snapshots back off (doubling from the interval), counted in
// hindsight_snapshots_deferred_total, the refusal still in /v1/state; the stop's
// snapshot is still attempted, and refused, ending with ErrFinalSnapshot.
func TestSnapshotRefusedForSizeIsNotEncodedEveryInterval(t *testing.T) {
	if testing.Short() {
		t.Skip("refused snapshots over many intervals: make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	r := livetest.ParseRule(t, `{"id":"logins","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	b.Produce(t, livetest.Event("a", `{"type":"login"}`))

	d, stop := livetest.StartLiveStoppingWith(t, b, func(c *live.Config) {
		c.StateURL, c.MaxSnapshotBytes = "file://"+t.TempDir(), 1
		c.SnapshotInterval, c.CommitInterval = 20*time.Millisecond, 20*time.Millisecond
	}, live.ErrFinalSnapshot)
	value := func(metrics, name string) int {
		l := metricLine(metrics, name+" ")
		if l == "absent" {
			return 0
		}
		n, err := strconv.ParseFloat(strings.Fields(l)[1], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", l, err)
		}
		return int(n)
	}
	// Every tick of the loop either encodes and is refused or, backing off, defers: 60
	// ticks are at least 1.2 s, in which a doubling schedule from 20 ms tries about 7
	// times (log2(1.2s/20ms)+1); every tick tried would be 60.
	const ticks = 60
	var refused, deferred int
	poll.Until(t, 60*time.Second, "60 ticks of the snapshot loop", func() bool {
		m := livetest.GetText(t, "http://"+d.HTTPAddr()+"/metrics")
		refused, deferred = value(m, "hindsight_snapshot_failures_total"), value(m, "hindsight_snapshots_deferred_total")
		return refused+deferred >= ticks
	})
	if refused > ticks/3 {
		t.Errorf("the partition's state, refused for its size, was encoded and refused %d times in %d ticks of the snapshot loop (deferred %d): want a doubling schedule's few", refused, refused+deferred, deferred)
	}
	if refused == 0 {
		t.Errorf("no snapshot was refused for its size (deferred %d)", deferred)
	}
	if st := d.State(); len(st.Partitions) != 1 || !strings.Contains(st.Partitions[0].LastError, "(--max-snapshot-bytes): not stored") {
		t.Errorf("while backing off, /v1/state does not name the refusal: %+v", st.Partitions)
	}
	stop()
	<-d.Done()
	if err := d.Wait(); !errors.Is(err, live.ErrFinalSnapshot) || !errors.Is(err, live.ErrSnapshotTooLarge) {
		t.Errorf("the stop of a partition backing off from a refused snapshot ended with %v, want ErrFinalSnapshot of ErrSnapshotTooLarge", err)
	}
}
