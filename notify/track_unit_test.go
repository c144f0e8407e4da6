package notify

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/rule"
)

// trackStage is a stage that is not run, its partition 0 of the alerts topic assigned:
// its tracking is driven by hand, as consume and the group's callbacks drive it.
func trackStage(t *testing.T, cfg Config) (*Stage, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Kafka, cfg.Sender, cfg.Registerer = ingest.KafkaConfig{Brokers: []string{"127.0.0.1:1"}}, testConfig(), reg
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.sender.Close)
	s.gctx = context.Background() // Run's, which the trackers' contexts derive from
	s.assigned(context.Background(), nil, map[string][]int32{s.cfg.Topics.Alerts: {0}})
	return s, reg
}

// trackRecord is an alerts record of partition 0 at offset, naming no destination
// unless names are given.
func trackRecord(offset int64, names ...string) *kgo.Record {
	a := contract.Alert{AlertID: "a", RuleID: "r", Scope: "*", Version: 1, Customer: "c-1", Count: 3,
		Threshold: rule.AtLeast(3), EventTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Source: contract.SourceLive,
		Aggregate: "count", Value: 3, Status: contract.StatusFiring, Notify: names}
	return &kgo.Record{Topic: "alerts", Partition: 0, Offset: offset, Value: a.AppendJSON(nil)}
}

// TestRecordFetchedBeforeARevokeAndReassignIsNotTracked: records fetched under one
// assignment of partition 0 are handled after the partition was revoked and assigned
// back. They are not the new assignment's: it reads the partition again from its
// committed offset (0 here), so taking them would note offset 6 as read and commit
// it, past the alerts 0 to 5 the new assignment has not delivered yet (a crash then
// skips them). The mutation hunt (track.go, tracker, without "s.assignGen[p] != gen")
// tracked them in the new assignment's tracker, and no test failed.
func TestRecordFetchedBeforeARevokeAndReassignIsNotTracked(t *testing.T) {
	t.Parallel()
	s, _ := trackStage(t, Config{})
	ctx := context.Background()
	parts := map[string][]int32{s.cfg.Topics.Alerts: {0}}
	gen := s.assignments()[0]
	s.revoked(ctx, nil, parts)
	s.assigned(ctx, nil, parts)

	s.handle(ctx, trackRecord(5), gen) // no destination: only seen
	if e := s.track(trackRecord(6, "ops"), gen); e != nil {
		t.Errorf("offset 6, fetched before the revoke, was tracked at offset %d by the partition's next assignment", e.offset)
	}
	s.mu.Lock()
	tr := s.parts[0]
	s.mu.Unlock()
	if tr != nil {
		if next, ok := tr.handled(); ok {
			t.Errorf("the next assignment, which resumes at the committed offset 0, would commit offset %d from records fetched before the revoke", next.Offset)
		}
	}
	// The new assignment's own records are tracked.
	if e := s.track(trackRecord(0, "ops"), s.assignments()[0]); e == nil || e.offset != 0 {
		t.Fatalf("offset 0, read under the new assignment, was not tracked: %+v", e)
	}
}

// TestHandledAlertsAreNotPending: two alerts read and both handled leave nothing
// pending: at --notify-max-pending 1 the reading goes on, no wait counted. The
// mutation hunt (track.go, popLocked, the pop loop stopping one short of the end) left
// the last handled entry counted pending until a commit tick compacted it: the reading
// waited, and hindsight_limit_reached_total counted the limit reached, with nothing
// pending; no test failed.
func TestHandledAlertsAreNotPending(t *testing.T) {
	t.Parallel()
	s, reg := trackStage(t, Config{MaxPending: 1})
	gen := s.assignments()[0]
	var es []*entry
	for off := range int64(2) {
		e := s.track(trackRecord(off, "ops"), gen)
		if e == nil {
			t.Fatalf("offset %d not tracked", off)
		}
		es = append(es, e)
	}
	if n, _, _ := s.pendingAlerts(); n != 2 {
		t.Errorf("two alerts read, none handled: %d pending, want 2", n)
	}
	for _, e := range es {
		e.done()
	}
	// Stopped: a wait, if any, ends at once (false) rather than at the next commit tick.
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	if !s.waitPending(stopped) {
		t.Errorf("with both alerts read handled, the reading waits at --notify-max-pending 1")
	}
	if n, _, _ := s.pendingAlerts(); n != 0 {
		t.Errorf("both alerts read handled: %d pending, want 0", n)
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", LimitMaxPending); got != 0 {
		t.Errorf("hindsight_limit_reached_total{name=%q} = %v with nothing pending, want 0", LimitMaxPending, got)
	}
}
