package ingest

import (
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestResumedAtLogStartIsNeitherDeletedNorPreceded: a partition resumed exactly at its
// log's start (offset 0 of a log never trimmed, or 100 where retention moved the start
// to 100 and the snapshot or commit says 100) lost nothing. No event was deleted
// before it was read, so none is counted nor logged as deleted unread (a warning of
// "events=0" tells the operator the consumer fell behind retention when it did not),
// and no record precedes the first fetch, so the tap hears FromLogStart, as for a
// position below the log start (TestTapHearsWhenNothingPrecedesAFetch). Found by a
// mutation hunt: deletedUnread called at a log start equal to the position, and the tap
// told the position instead of FromLogStart there, passed every test.
func TestResumedAtLogStartIsNeitherDeletedNorPreceded(t *testing.T) {
	t.Parallel()
	const perPartition = 120
	brokers := seededCluster(t, 2, 4, perPartition/4, nil)
	deleteRecords(t, brokers, map[int32]int64{1: 100}) // as retention would
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	tap := newRecordingTap()
	ec, err := NewEventConsumer(EventsConfig{Kafka: KafkaConfig{Brokers: brokers}, Topics: Topics{Events: "events"}, Group: "g",
		FetchMaxBytes: 1, Tap: tap, Metrics: NewMetrics(reg), Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		resumeAtHandler{at: map[int32]int64{0: 0, 1: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runUntil(ec, func() bool { return tap.seen() >= perPartition+(perPartition-100) }); err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	for _, tc := range []struct {
		p     int32
		first int64
	}{{0, 0}, {1, 100}} {
		calls, offs := tap.calls[tc.p], tap.offsets[tc.p]
		if len(calls) == 0 || offs[0] != tc.first {
			t.Errorf("partition %d: fetches %v, offsets %v; want the first at %d", tc.p, calls, offs, tc.first)
			continue
		}
		if calls[0][0] != FromLogStart {
			t.Errorf("partition %d, resumed at its log start %d: the tap heard the first fetch from %d, want FromLogStart (%d)",
				tc.p, tc.first, calls[0][0], FromLogStart)
		}
		if got := promtest.Value(t, reg, "hindsight_events_deleted_unread_total", "partition", strconv.Itoa(int(tc.p))); got != 0 {
			t.Errorf("partition %d: %v events counted as deleted unread, want 0", tc.p, got)
		}
	}
	if l := logs.String(); strings.Contains(l, "events were deleted") {
		t.Errorf("a partition resumed at its log start was logged as having events deleted unread:\n%s", l)
	}
}
