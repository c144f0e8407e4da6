package live_test

import (
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestNegativeBackfillLimitsRefused: a negative --backfill-cache-max-bytes or
// --backfill-concurrency is a mistake, as a negative --memory-limit or
// --archive-flush-concurrency is (refused by Validate, "use a number …, or 0 for the
// default"). EnsureDefaults turns it into the default (10 GiB, 2 workers) and Validate
// says nothing: an operator who wrote --backfill-cache-max-bytes -1 (or 0, hoping for
// no cache) runs with a 10 GiB cache, unwarned.
func TestNegativeBackfillLimitsRefused(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	cases := []struct {
		name string
		mod  func(*live.Config)
		got  func(*live.Config) int64
	}{
		{"--backfill-cache-max-bytes -1", func(c *live.Config) { c.BackfillCacheMaxBytes = -1 }, func(c *live.Config) int64 { return c.BackfillCacheMaxBytes }},
		{"--backfill-concurrency -1", func(c *live.Config) { c.BackfillConcurrency = -1 }, func(c *live.Config) int64 { return int64(c.BackfillConcurrency) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := livetest.Config(t, b)
			cfg.NoBackfill = false
			tc.mod(&cfg)
			cfg.EnsureDefaults()
			if err := cfg.Validate(); err == nil {
				t.Errorf("%s: Validate accepted it, running with %d instead", tc.name, tc.got(&cfg))
			}
		})
	}
}
