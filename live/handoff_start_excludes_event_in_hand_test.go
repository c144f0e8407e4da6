package live_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestHandoffStartExcludesTheFirstLiveEvent: a plain count's hand-off job counts the
// offsets below the version's start, the first offset live evaluates; the event at
// start is live's alone. Here the job lists the partition's end only after the first
// live event is in the log and counted (its ListOffsets is held until then), so a job
// bounded one past start would count that event a second time.
func TestHandoffStartExcludesTheFirstLiveEvent(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, func(c *live.Config) {
		c.NoBackfill, c.Registry = false, prometheus.NewRegistry()
	})
	x := `{"type":"x"}`
	b.Produce(t, ev("a-1", x), ev("z-1", x), ev("z-1", x))
	waitSeen(t, d, 3)

	// Hold every ListOffsets of the events topic (the job's plan lists its end) until
	// z-1's live event, at the version's start (offset 3), is counted.
	release := make(chan struct{})
	c := b.Cluster
	c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, tp := range req.(*kmsg.ListOffsetsRequest).Topics {
			if tp.Topic == "events" {
				c.SleepControl(func() { <-release })
				break
			}
		}
		return nil, nil, false
	})
	held := true
	defer func() {
		if held {
			close(release)
		}
	}()

	r := livetest.ParseRule(t, `{"id":"r","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"threshold":100}`)
	b.Produce(t, livetest.Upsert(t, r))
	waitRule(t, d, r.Key(), 1)
	b.Produce(t, ev("z-1", x))
	waitSeen(t, d, 4)
	poll.Until(t, wait, "z-1's live event counted", func() bool { return count(t, d, r.Key(), "z-1") == 1 })
	if v := ruleView(t, d, r.Key()); v.StartOffsets[0] != 3 || len(v.Backfill) != 1 {
		t.Fatalf("start offsets %v, %d partitions backfilling; want start 3 and its job pending", v.StartOffsets, len(v.Backfill))
	}

	held = false
	close(release)
	poll.Until(t, wait, "the hand-off applied", func() bool { return len(ruleView(t, d, r.Key()).Backfill) == 0 })
	if n := count(t, d, r.Key(), "z-1"); n != 3 {
		t.Errorf("z-1 counts %d, want 3 (2 of history below offset 3, 1 live at offset 3)", n)
	}
	if n := count(t, d, r.Key(), "a-1"); n != 1 {
		t.Errorf("a-1 counts %d, want 1 (history)", n)
	}
}
