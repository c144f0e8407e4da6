package live

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// TestWindowAheadWithoutLateEventsIsNotDegraded: a window state whose watermark is two
// hours ahead of the clock (one event dated in the future) has counted every event so
// far: none was late, so its figures are not lower bounds and the rule is not degraded.
// Once an event dated before the watermark arrives, it is late, and the rule says so,
// with that count.
func TestWindowAheadWithoutLateEventsIsNotDegraded(t *testing.T) {
	t.Parallel()
	r, err := rule.ParseRule([]byte(`{"id":"bursts","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},
	  "group_by":["$.user"],"window":{"size":"10s"},"threshold":100}`))
	if err != nil {
		t.Fatal(err)
	}
	ws := window.New(r, window.Limits{})
	doc := jsonpath.NewDocument()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	add := func(at time.Time, offset int64) {
		t.Helper()
		if err := doc.Reset([]byte(`{"type":"login.failed","user":"u"}`)); err != nil {
			t.Fatal(err)
		}
		ws.Add(&window.Event{Customer: "c", Doc: doc, Time: at, Offset: offset}, func(window.Crossing) {})
	}
	add(now.Add(2*time.Hour), 0)
	if wm, ok := ws.Watermark(); !ok || !time.UnixMilli(wm).After(now.Add(watermarkAhead)) {
		t.Fatalf("watermark %d (seen %v), want more than %s ahead of %s", wm, ok, watermarkAhead, now)
	}
	if late := ws.Stats().Late; late != 0 {
		t.Fatalf("%d late events after one event, want 0", late)
	}
	if why := windowDegraded(ws, now); why != "" {
		t.Errorf("watermark ahead of the clock, no event late: degraded %q, want not degraded", why)
	}
	add(now, 1) // dated two hours before the watermark: late
	if late := ws.Stats().Late; late != 1 {
		t.Fatalf("%d late events, want 1", late)
	}
	if why := windowDegraded(ws, now); !strings.Contains(why, "1 events dated before it were late") {
		t.Errorf("watermark ahead of the clock, one event late: degraded %q, want it to say 1 event was late", why)
	}
}
