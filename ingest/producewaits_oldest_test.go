package ingest

import (
	"testing"
	"time"
)

// TestProduceWaitsOldestByTopic: Oldest gives, per topic in name order, how many
// records wait and the start of the longest wait, whatever order the map yields
// them in: live's /readyz (--max-produce-stall) and
// hindsight_produce_oldest_wait_seconds read it. No test read more of it than
// whether it was empty.
func TestProduceWaitsOldestByTopic(t *testing.T) {
	t.Parallel()
	w := newProduceWaits()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, p := range []produceWait{
		{"events.dlq", base.Add(3 * time.Second)},
		{"alerts", base.Add(5 * time.Second)},
		{"events.dlq", base.Add(1 * time.Second)},
		{"events.dlq", base.Add(2 * time.Second)},
		{"alerts", base.Add(4 * time.Second)},
	} {
		w.waiting[i] = p
	}
	got := w.Oldest()
	want := []ProduceWait{
		{Topic: "alerts", Records: 2, Since: base.Add(4 * time.Second)},
		{Topic: "events.dlq", Records: 3, Since: base.Add(1 * time.Second)},
	}
	if len(got) != len(want) {
		t.Fatalf("Oldest = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Topic != want[i].Topic || got[i].Records != want[i].Records || !got[i].Since.Equal(want[i].Since) {
			t.Errorf("Oldest[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
