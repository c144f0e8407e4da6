package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/bench"
)

// The windowed part of eval at tiny sizes: the plain and windowed replays ran in the
// same slices, the windowed rules held state, the high-cardinality run kept no more
// groups than the limit and said it dropped the rest, and the report carries it all.
func TestEvalWindowed(t *testing.T) {
	// Not parallel: the eval run measures the heap (runtime.ReadMemStats).
	rep, err := bench.RunEval(context.Background(), bench.EvalConfig{Rules: 100, Events: 256, Duration: shortDuration(200 * time.Millisecond),
		HighCardGroups: 5000, GroupLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	w, h := rep.Windowed, rep.HighCard
	if w == nil || h == nil {
		t.Fatalf("windowed %+v, high cardinality %+v: want both by default", w, h)
	}
	if w.Rules != 50 || w.WindowedMatchesPerEvent <= 0 || w.WindowedMatchesPerEvent >= w.MatchesPerEvent {
		t.Errorf("%d windowed rules, %.2f of %.2f matches per event windowed", w.Rules, w.WindowedMatchesPerEvent, w.MatchesPerEvent)
	}
	for name, r := range map[string]bench.EvalRun{"plain": w.Plain, "windowed": w.Windowed} {
		if r.Events == 0 || r.Elapsed <= 0 || r.EventsPerS <= 0 || len(r.PerInterval) == 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if w.StateEvents == 0 || w.Groups == 0 || w.Cells < w.Groups || w.StateBytes <= 0 {
		t.Errorf("state pass: %d events left %d groups, %d cells in %d bytes", w.StateEvents, w.Groups, w.Cells, w.StateBytes)
	}
	if h.Offered != 5000 || h.Limit != 1000 || h.Groups != 1000 || h.Dropped != 4000 || h.Degraded == "" || h.HeapBytes <= 0 {
		t.Errorf("high cardinality: %+v", h)
	}

	res := rep.Result()
	if r := res.Ratio("windowed ÷ plain, time per event"); r == nil || r.Value <= 0 || r.Gated || r.Target == "" {
		t.Errorf("ratio %+v", r)
	}
	positive := []string{"50% windowed (Replay): per event", "plain counts (Replay): per event",
		"state per (group, window), window.State pass", "high cardinality: state, live heap"}
	for _, name := range positive {
		if m := res.Metric(name); m == nil || !(m.Value > 0) {
			t.Errorf("metric %q: %+v", name, m)
		}
	}
	if m := res.Metric("high cardinality: groups kept"); m == nil || m.Value != 1000 {
		t.Errorf("groups kept %+v, want the limit, 1000", m)
	}
	if res.Params["windowed_percent"] != "50" || res.Params["group_limit"] != "1000" || res.Params["high_card_groups"] != "5000" {
		t.Errorf("params %v", res.Params)
	}

	// Negative sizes turn the parts off, and the report is what it was.
	rep, err = bench.RunEval(context.Background(), bench.EvalConfig{Rules: 20, Events: 64, Duration: shortDuration(100 * time.Millisecond),
		WindowedPercent: -1, HighCardGroups: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Windowed != nil || rep.HighCard != nil || rep.Result().Metric("high cardinality: groups kept") != nil {
		t.Errorf("windowed %+v, high cardinality %+v: want neither", rep.Windowed, rep.HighCard)
	}
	for _, c := range []bench.EvalConfig{{Rules: 10, WindowedPercent: 5}, {Rules: 100, WindowedPercent: 101}, {Rules: 100, HighCardGroups: 100_000_000}} {
		c.EnsureDefaults()
		if err := c.Validate(); err == nil {
			t.Errorf("%+v validated", c)
		}
	}
}
