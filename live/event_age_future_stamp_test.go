package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// TestEventAgeNotNegativeForFutureStamps: hindsight_event_age_seconds is "event
// timestamp to the end of its evaluation: ingest delay as the evaluator sees it". A
// producer whose clock runs an hour ahead stamps its events in the future; the daemon
// observes now minus that stamp as it is, a negative age, which lands in the lowest
// bucket (0.5 ms: the fastest ingest there is) and drives the sum below zero, so the
// histogram reports such events as delivered at once, and averages (sum/count) of
// every other event's delay are pulled down by an hour each. The test produces 32
// events stamped an hour ahead (one in 16 is timed) and reads the histogram, which
// must hold no negative age, and hindsight_events_future_stamped_total, which counts
// the timed events it leaves out.
func TestEventAgeNotNegativeForFutureStamps(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d := startHTTPDaemonOn(t, b, nil)
	ahead := time.Now().Add(time.Hour)
	var recs []*kgo.Record
	for i := range 32 {
		r := ev(fmt.Sprintf("c-%d", i), downloaded)
		r.Timestamp = ahead
		recs = append(recs, r)
	}
	b.Produce(t, recs...)
	poll.Until(t, wait, "every event read", func() bool { return d.EventsSeen() == int64(len(recs)) })

	// The timed events (the 1st and 17th) are counted apart, not observed: a count of
	// 0 there would hide them (the test once asked for an observation, which only a
	// made-up age could give).
	if got, want := promtest.Sum(t, d.reg, "hindsight_events_future_stamped_total"), float64(len(recs)/16); got != want {
		t.Errorf("hindsight_events_future_stamped_total = %v, want %v (the timed events of %d stamped an hour ahead)", got, want, len(recs))
	}
	mfs, err := d.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "hindsight_event_age_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleSum() < 0 {
			t.Errorf("hindsight_event_age_seconds_sum = %v over %d observations of events stamped an hour ahead: a negative age (want none observed, or counted apart)", h.GetSampleSum(), h.GetSampleCount())
		}
		if n := h.GetBucket()[0].GetCumulativeCount(); n > 0 {
			t.Errorf("hindsight_event_age_seconds_bucket{le=\"%g\"} = %d: events stamped an hour ahead shown as ingested within 0.5ms", h.GetBucket()[0].GetUpperBound(), n)
		}
		return
	}
	t.Fatalf("hindsight_event_age_seconds not in the registry")
}
