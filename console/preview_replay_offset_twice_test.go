package console

import (
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPreviewReplayCountsAnOffsetOnce: live reads each offset of a partition once, so a
// sample holding one offset twice (archived twice) counts it once in the replay: two
// rows of offset 5 are one event, short of a threshold of 2, and nothing would fire; a
// second offset takes it across.
func TestPreviewReplayCountsAnOffsetOnce(t *testing.T) {
	t.Parallel()
	r, err := rule.ParseRule([]byte(`{"id":"any","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"window":{"size":"1m"},"threshold":2}`))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	twice := []lakehouse.Row{
		{Offset: 5, EventTime: at, Customer: "c-1", Payload: `{"type":"x"}`},
		{Offset: 5, EventTime: at, Customer: "c-1", Payload: `{"type":"x"}`},
	}
	res := &PreviewResult{}
	alerting := map[string]bool{}
	if err := (&Console{}).replay(context.Background(), r, twice, res, alerting); err != nil {
		t.Fatal(err)
	}
	if res.WouldFireTotal != 0 || len(alerting) != 0 {
		t.Errorf("one offset sampled twice: would fire %d %+v, alerting %v; want nothing", res.WouldFireTotal, res.WouldFire, alerting)
	}
	two := append(twice, lakehouse.Row{Offset: 6, EventTime: at, Customer: "c-1", Payload: `{"type":"x"}`})
	res, alerting = &PreviewResult{}, map[string]bool{}
	if err := (&Console{}).replay(context.Background(), r, two, res, alerting); err != nil {
		t.Fatal(err)
	}
	if res.WouldFireTotal != 1 || len(res.WouldFire) != 1 || res.WouldFire[0].Offset != 6 || !alerting["c-1"] {
		t.Errorf("offsets 5 (twice) and 6: would fire %d %+v; want one alert, at offset 6", res.WouldFireTotal, res.WouldFire)
	}
}
