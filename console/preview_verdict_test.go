package console

import (
	"context"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPreviewLeavesOutRowsLiveRefused: a file archived before rows were checked keeps
// keyless records, which live dead-letters; a preview's replay must not raise alerts
// for customer "" from them.
func TestPreviewLeavesOutRowsLiveRefused(t *testing.T) {
	t.Parallel()
	r, err := rule.ParseRule([]byte(`{"id":"any","scope":"*","when":{"path":"$.type","op":"==","value":"x"},"window":{"size":"1m"},"threshold":1}`))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []lakehouse.Row{
		{Offset: 0, EventTime: at, Customer: "", Payload: `{"type":"x"}`},
		{Offset: 1, EventTime: at, Customer: "c-\xff", Payload: `{"type":"x"}`},
		{Offset: 2, EventTime: at, Customer: "c-1", Payload: `{"type":"x"}`},
	}
	c := &Console{}
	res := &PreviewResult{}
	if err := c.replay(context.Background(), r, rows, res, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if res.WouldFireTotal != 1 || len(res.WouldFire) != 1 || res.WouldFire[0].Customer != "c-1" {
		t.Errorf("would fire %d: %+v; want c-1's alert alone", res.WouldFireTotal, res.WouldFire)
	}
}
