package console

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestPreviewWouldFireLeavesOutResolved: a rule with alert.resolve whose incident
// fires and then resolves within the sample. The preview's would_fire lists "the
// alerts it would have raised ... the event that took the window across": the one
// firing alert, as backtest counts one firing (resolved records apart) and
// `rules test`'s Stream counts one alert. A resolved record is not a crossing; the
// preview listed it as a second alert with the same id.
func TestPreviewWouldFireLeavesOutResolved(t *testing.T) {
	t.Parallel()
	r, err := rule.ParseRule([]byte(`{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
		"group_by":["$.user"],"window":{"size":"10s"},"time":"$.ts","threshold":2,"alert":{"resolve":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []lakehouse.Row
	for i, ev := range []struct {
		user string
		sec  int
	}{{"a", 1}, {"a", 2}, {"b", 30}} { // a crosses [0s,10s); b's time closes a's incident
		at := base.Add(time.Duration(ev.sec) * time.Second)
		rows = append(rows, lakehouse.Row{Partition: 0, Offset: int64(i), EventTime: at, Customer: "c-1",
			Payload: fmt.Sprintf(`{"type":"login.failed","user":%q,"ts":%q}`, ev.user, at.Format(time.RFC3339Nano))})
	}

	// What the one evaluator says: one firing, one resolved.
	set, _ := rule.NewSet([]*rule.Rule{r})
	rp := window.NewReplay(set, window.Limits{})
	doc := jsonpath.NewDocument()
	firing, resolved := 0, 0
	for _, row := range rows {
		if err := doc.Reset([]byte(row.Payload)); err != nil {
			t.Fatal(err)
		}
		for _, x := range rp.Add(row.Offset, row.Customer, doc, row.EventTime, nil) {
			if x.Crossing.Resolved {
				resolved++
			} else {
				firing++
			}
		}
	}
	if firing != 1 || resolved != 1 {
		t.Fatalf("replay: %d firing, %d resolved; the test wants 1 and 1", firing, resolved)
	}

	c := &Console{}
	res := &PreviewResult{}
	if err := c.replay(context.Background(), r, rows, res, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if res.WouldFireTotal != firing || len(res.WouldFire) != firing {
		for _, w := range res.WouldFire {
			t.Logf("would_fire: alert_id %s group %s window [%s, %s) offset %d", w.AlertID, w.Group, w.WindowStart, w.WindowEnd, w.Offset)
		}
		t.Errorf("would_fire_total %d, %d listed; want %d (the firing alert: a resolved record is not an alert raised by a crossing)",
			res.WouldFireTotal, len(res.WouldFire), firing)
	}
	seen := map[string]bool{}
	for _, w := range res.WouldFire {
		if seen[w.AlertID] {
			t.Errorf("alert_id %s listed twice in would_fire", w.AlertID)
		}
		seen[w.AlertID] = true
	}
}
