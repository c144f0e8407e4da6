package console

import (
	"context"
	"fmt"
	"runtime"
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
func TestPreviewListsNewestCrossingsInBoundedMemory(t *testing.T) {
	r, err := rule.ParseRule([]byte(`{"id":"hopping","scope":"*","when":{"path":"$.type","op":"==","value":"x"},
		"group_by":["$.id"],"window":{"size":"1d","every":"1m"},"threshold":1,"alert":{"suppress":"0s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	base := time.Now().Add(-time.Hour).Truncate(time.Minute)
	rows := make([]lakehouse.Row, n)
	for i := range rows {
		rows[i] = lakehouse.Row{Partition: 0, Offset: int64(i), EventTime: base.Add(time.Duration(i) * time.Millisecond), Customer: "c-1",
			Payload: fmt.Sprintf(`{"type":"x","id":"e-%d"}`, i)}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := &PreviewResult{}
	if err := (&Console{}).replay(context.Background(), r, rows, res, map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if res.WouldFireTotal != n*1440 || len(res.WouldFire) != maxPreviewWindows {
		t.Fatalf("%d crossings counted, %d listed; want %d and %d", res.WouldFireTotal, len(res.WouldFire), n*1440, maxPreviewWindows)
	}
	first := base.Add((n - 1) * time.Millisecond).Truncate(time.Minute).Add(-24*time.Hour + time.Minute)
	for i, w := range res.WouldFire {
		if want := first.Add(time.Duration(i) * time.Minute); w.Offset != n-1 || w.WindowStart == nil || !w.WindowStart.Equal(want) {
			t.Fatalf("listed %d: offset %d, window start %v; want the newest event's (%d), its windows from the earliest, %v", i, w.Offset, w.WindowStart, n-1, want)
		}
	}
	if held > 8<<20 {
		t.Errorf("the answer listing %d crossings holds %d MiB", len(res.WouldFire), held>>20)
	}
	runtime.KeepAlive(res)
}
