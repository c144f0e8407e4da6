package live_test

import (
	"maps"
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
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHandoffBuffersAreBoundedTogether: windowed versions applied together wait in one
// queue for the backfill workers, each buffering the events it matches meanwhile, and
// --max-handoff-buffer bounded each (version, partition) alone: their sum reached
// versions times partitions times it. With --max-handoff-buffers the sum stays within
// it, a version whose next event would pass it starts without its history (saying
// which limit), and what every version counts is still exact from there on.
func TestHandoffBuffersAreBoundedTogether(t *testing.T) {
	t.Parallel()
	const total = 20_000 // bytes: about 150 of these events; 600 would be buffered
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 2})
	release, restore := holdJobs(livetest.Group(t))
	defer restore()
	reg := prometheus.NewRegistry()
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.NoArchive = false, false
		c.HandoffBuffersBytes, c.Registry = total, reg
	})
	var history []*kgo.Record
	produce := func(n int) { produceFailures(t, b, &history, n, 5, 3) }
	produce(300)
	waitCommitted(t, b, d, "the first events")
	// Both match every event produceFailures makes.
	rules := []string{windowHandoffRules[0], strings.Replace(windowHandoffRules[0], `"id":"burst"`, `"id":"burst-again"`, 1)}
	for _, text := range rules {
		b.Produce(t, livetest.Upsert(t, livetest.ParseRule(t, text)))
	}
	waitActive(t, d, rules)
	produce(300)
	waitCommitted(t, b, d, "every event")

	// Some buffers may have given up, all of them even: one alone can fill the sum, and
	// then cannot take its next event either. What holds is the bound.
	if held := promtest.Sum(t, reg, "hindsight_handoff_buffered_bytes"); held > total {
		t.Errorf("hand-off buffers hold %v bytes together with their jobs held, want at most %d", held, total)
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", "max_handoff_buffers_bytes"); got < 1 {
		t.Errorf("hindsight_limit_reached_total{name=max_handoff_buffers_bytes} = %v, want it counted", got)
	}
	if got := promtest.Value(t, reg, "hindsight_limit", "name", "max_handoff_buffers_bytes"); got != total {
		t.Errorf("hindsight_limit{name=max_handoff_buffers_bytes} = %v, want %d", got, total)
	}
	release()

	gaveUp := 0
	for _, text := range rules {
		r := livetest.ParseRule(t, text)
		var view contract.RuleView
		poll.Until(t, 30*time.Second, r.ID+"'s hand-off to end", func() bool {
			for _, v := range d.Rules() {
				if v.ID == r.ID {
					view = v
				}
			}
			return len(view.Backfill) == 0 && (view.Status == contract.RuleLive || view.Status == contract.RuleError)
		})
		from := map[int32]int64{}
		for _, m := range view.Incomplete {
			if m.From != 0 || !strings.Contains(m.Reason, "max_handoff_buffers_bytes") {
				t.Errorf("%s: missing range %+v: want one from 0 naming max_handoff_buffers_bytes", r.ID, m)
			}
			from[m.Partition] = m.To + 1
			gaveUp++
		}
		_, open, err := livetest.WindowReplay(history, r, from)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := d.Counts(r.Key())
		if have := livetest.OpenWindows(got); len(open) == 0 || !maps.EqualFunc(have, open, slices.Equal) {
			t.Errorf("%s: open windows\n%v\nreplay from %v\n%v", r.ID, have, from, open)
		}
	}
	if gaveUp == 0 {
		t.Error("no version gave up its history, yet the buffers could not all fit")
	}
	if held := promtest.Sum(t, reg, "hindsight_handoff_buffered_bytes"); held != 0 {
		t.Errorf("hand-off buffers hold %v bytes once every hand-off ended, want 0", held)
	}
}
