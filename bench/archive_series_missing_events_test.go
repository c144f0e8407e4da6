package bench_test

import (
	"math"
	"testing"
	"time"
)

// A throughput series is events/s per Step (Series): over the run, its values times
// the step add up to the events read. The archive benchmark's plot draws the archiver
// and the zstd JSON lines baseline side by side, so both must account for every event;
// the baseline's series (archiveJSONLines) is sampled only when a poll returns after a
// step's end and never for the span its reading ends in, so it drops what it read
// last — at 20,000 events, most or all of them.
func TestArchiveSeriesAccountForEveryEvent(t *testing.T) {
	t.Parallel()
	const events = 20_000
	rep := archive20k(t, 1)
	for _, s := range rep.Result().Throughput {
		sum := 0.0
		for _, v := range s.Values {
			sum += v * time.Duration(s.Step).Seconds()
		}
		if n := math.Round(sum); n < events {
			t.Errorf("series %q: %d values adding up to %.0f events, want at least %d (the events read)", s.Name, len(s.Values), n, events)
		}
	}
}
