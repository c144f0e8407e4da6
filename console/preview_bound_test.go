package console

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

// TestPreviewListsNewestCrossingsInBoundedMemory: a day-long window every minute,
// grouped by an id each event has its own, fires 1,440 windows per event. The preview
// lists the newest 100 of them (the newest event's, its earliest windows first) and
// counts them all; it kept every crossing until the end, and the 100 it listed held
// the whole list's memory (a helper's run: 1.7 GB held for 2,000 rows, 181 GB at
// --preview-max-sample).
//
// What the preview holds is asserted, not the heap's size (which other goroutines and
// the collector's timing move): the list answered has room for about its 100
// crossings, not for the whole list it was cut from, and the crossings kept while replaying
// (keepNewest), given every crossing of the replay, never pass 4 x 100.
func TestPreviewListsNewestCrossingsInBoundedMemory(t *testing.T) {
	r, err := rule.ParseRule([]byte(`{"id":"hopping","scope":"*","when":{"path":"$.type","op":"==","value":"x"},
		"group_by":["$.id"],"window":{"size":"1d","every":"1m"},"threshold":1,"alert":{"suppress":"0s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	// 200 events, 288,000 crossings; under -short 50 (72,000), still 180 times the
	// 400 keepNewest holds at most.
	n := 200
	if testing.Short() {
		n = 50
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Minute)
	rows := make([]lakehouse.Row, n)
	for i := range rows {
		rows[i] = lakehouse.Row{Partition: 0, Offset: int64(i), EventTime: base.Add(time.Duration(i) * time.Millisecond), Customer: "c-1",
			Payload: fmt.Sprintf(`{"type":"x","id":"e-%d"}`, i)}
	}
	res := &PreviewResult{}
	if err := (&Console{}).replay(context.Background(), r, rows, res, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if res.WouldFireTotal != n*1440 || len(res.WouldFire) != maxPreviewWindows {
		t.Fatalf("%d crossings counted, %d listed; want %d and %d", res.WouldFireTotal, len(res.WouldFire), n*1440, maxPreviewWindows)
	}
	first := base.Add(time.Duration(n-1) * time.Millisecond).Truncate(time.Minute).Add(-24*time.Hour + time.Minute)
	for i, w := range res.WouldFire {
		if want := first.Add(time.Duration(i) * time.Minute); w.Offset != int64(n-1) || w.WindowStart == nil || !w.WindowStart.Equal(want) {
			t.Fatalf("listed %d: offset %d, window start %v; want the newest event's (%d), its windows from the earliest, %v", i, w.Offset, w.WindowStart, n-1, want)
		}
	}
	// slices.Clone rounds its room up to the allocator's size class (105 for 100).
	if c := cap(res.WouldFire); c > 2*maxPreviewWindows {
		t.Errorf("the answer listing %d crossings has room for %d: it holds the list it was cut from", len(res.WouldFire), c)
	}
	// The replay's crossings, in the order it finds them (each event's windows, events
	// by offset), through what keeps them while it runs.
	var fired []PreviewWindow
	most := 0
	for _, row := range rows {
		start := row.EventTime.Truncate(time.Minute).Add(-24*time.Hour + time.Minute)
		for w := range 1440 {
			ws := start.Add(time.Duration(w) * time.Minute)
			fired = keepNewest(fired, PreviewWindow{WindowStart: &ws, Offset: row.Offset, EventTime: row.EventTime})
			most = max(most, cap(fired))
		}
	}
	if most > 2*4*maxPreviewWindows {
		t.Errorf("the replay's %d crossings were kept in up to %d slots, want at most %d: they are kept until the end", n*1440, most, 2*4*maxPreviewWindows)
	}
}
