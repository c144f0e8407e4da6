package console_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPreviewSaysEvalCutShort: the preview evaluates a draft over lake rows with the
// live evaluator, under --max-rule-eval-work. On an event where $..a..b runs out of
// that work budget the draft misses the event, as live's evaluation does; live counts
// that, and the preview said nothing: its "1 match" read as the answer (a review
// helper's test). It says so now (truncated, with the flag) and counts it.
func TestPreviewSaysEvalCutShort(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	d := startDaemonWith(t, "", func(c *live.Config) { c.Registry = reg })
	d.b.Produce(t,
		&kgo.Record{Topic: "events", Key: []byte("c-1"), Value: []byte(`{"y":{"a":{"b":1}}}`)},
		&kgo.Record{Topic: "events", Key: []byte("c-2"), Value: []byte(deepEvent())},
	)
	d.waitLake(t, 2)
	for _, js := range []string{
		`{"id":"nested-b","scope":"*","when":{"path":"$..a..b"},"threshold":1}`,
		`{"id":"nested-w","scope":"*","when":{"path":"$..a..b"},"window":{"size":"1h"},"threshold":1}`,
	} {
		var p console.PreviewResult
		if resp := call(t, "POST", d.url("/v1/console/preview"), "", draft(js), &p); resp.StatusCode != 200 {
			t.Fatalf("status %d: %+v", resp.StatusCode, p)
		}
		if p.Sample.Events != 2 || p.Matches != 1 {
			t.Fatalf("%s: sampled %d events, %d matches; want 2 and 1 (the deep event cut short)", js, p.Sample.Events, p.Matches)
		}
		if p.EvalCutShort != 1 || !p.Truncated || !strings.Contains(p.TruncatedReason, "--max-rule-eval-work") {
			t.Errorf("%s: eval_cut_short %d, truncated %v %q; want 1, and the reason naming --max-rule-eval-work", js, p.EvalCutShort, p.Truncated, p.TruncatedReason)
		}
	}
	if got := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", rule.LimitEvalWork); got != 2 {
		t.Errorf("hindsight_limit_reached_total{name=%q} = %v, want 2 (one per preview)", rule.LimitEvalWork, got)
	}
}

// deepEvent is an event (about 200 KB, depth 992) on which $..a..b runs out of
// jsonpath's default work budget: 990 nested "a" members over a 100,000-element array,
// then "y":{"a":{"b":1}}, which the path never reaches (as live's tests' deepEvent).
func deepEvent() string {
	const depth, width = 990, 100_000
	return `{"x":` + strings.Repeat(`{"a":`, depth) + "[0" + strings.Repeat(",0", width-1) + "]" + strings.Repeat(`}`, depth) + `,"y":{"a":{"b":1}}}`
}
