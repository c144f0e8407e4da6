package console_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
)

// TestPreviewNoteSaysAllOnlyWhenAllWereEvaluated: the note "all N archived events of
// this scope and lookback were evaluated" is for a sample the scope's events did not
// fill. A sample filled to the size asked, in a lake holding more, has no note: its
// events are the most recent, not all. No test told these apart (a mutation hunt:
// saying "all" of a full sample passed every console test).
func TestPreviewNoteSaysAllOnlyWhenAllWereEvaluated(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	now := time.Now()
	var evs []event
	for i, cust := range []string{"c-1", "c-2", "c-1", "c-2"} {
		evs = append(evs, event{customer: cust, typ: "login.failed", at: now.Add(time.Duration(i-10) * time.Second)})
	}
	produce(t, d.b, evs)
	d.waitLake(t, 4)
	preview := func(scope string, sample int) console.PreviewResult {
		t.Helper()
		js := fmt.Sprintf(`{"id":"n","scope":%q,"when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":3}`, scope)
		var res console.PreviewResult
		if resp := call(t, "POST", d.url("/v1/console/preview"), "", map[string]any{"rule": json.RawMessage(js), "sample": sample}, &res); resp.StatusCode != 200 {
			t.Fatalf("preview of scope %s, sample %d: HTTP %d", scope, sample, resp.StatusCode)
		}
		return res
	}
	if res := preview("*", 2); res.Sample.Events != 2 || res.Note != "" {
		t.Errorf("preview of sample 2 in a lake of 4: %d events, note %q; want 2 and no note", res.Sample.Events, res.Note)
	}
	want := "all 2 archived events of this scope and lookback were evaluated (the lake holds 4)"
	if res := preview("c-1", 10); res.Sample.Events != 2 || res.Note != want {
		t.Errorf("preview of scope c-1 (2 of the lake's 4 events), sample 10: %d events, note %q; want 2, note %q", res.Sample.Events, res.Note, want)
	}
}
