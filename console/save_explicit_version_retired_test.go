package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSaveWithExplicitVersionRefusesRetiredVersion: a rule deleted and saved again in
// the console with an explicit version not above the deleted one's is taken (`ok`),
// where `hindsight rules apply` refuses the same rule ("version 1 is not newer than
// version 1 of the deleted rule"): the new rule's alerts then carry the deleted rule's
// alert ids, which consumers (the console's own feed first) drop as duplicates.
func TestSaveWithExplicitVersionRefusesRetiredVersion(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	save := func(js string) (int, console.SaveResponse) {
		t.Helper()
		var s console.SaveResponse
		resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s)
		return resp.StatusCode, s
	}
	if code, s := save(`{"id":"two","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"file.read"},"threshold":2}`); code != 200 || s.Status != "ok" {
		t.Fatalf("first save: %d %+v", code, s)
	}
	produce(t, d.b, []event{{customer: "c-4", typ: "file.read", at: time.Now()}, {customer: "c-4", typ: "file.read", at: time.Now()}})
	d.b.WaitTopicRecords(t, "alerts", 1, 20*time.Second)

	var del console.SaveResponse
	if resp := call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=two"), "", nil, &del); resp.StatusCode != 200 || del.Status != "ok" {
		t.Fatalf("delete: %d %+v", resp.StatusCode, del)
	}
	code, s := save(`{"id":"two","scope":"*","version":1,"when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`)
	if s.Status != "ok" {
		// Refused, as rules apply refuses it, and said so.
		if code != 422 || s.Status != "invalid" || s.Offset != -1 || !strings.Contains(s.Message, "not newer than version 2, the highest the deleted rule */two retired") {
			t.Errorf("saving version 1 again after the deleted version 1: %d %+v, want 422 invalid, nothing published, naming the deleted version", code, s)
		}
		// Exactly the version retired is refused alike, before publishing (a check of
		// "below" let it through to the fold, which answered stale, 409, published).
		if code, s := save(`{"id":"two","scope":"*","version":2,"when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`); code != 422 || s.Status != "invalid" || s.Offset != -1 {
			t.Errorf("saving version 2, the version retired by the delete of version 1: %d %+v, want 422 invalid, nothing published", code, s)
		}
		return
	}
	produce(t, d.b, []event{{customer: "c-4", typ: "login.failed", at: time.Now()}, {customer: "c-4", typ: "login.failed", at: time.Now()}})
	d.b.WaitTopicRecords(t, "alerts", 2, 20*time.Second)
	alerts := livetest.Alerts(t, d.b.Consume(t, "alerts", 2, 10*time.Second))
	t.Errorf("saving version 1 again after the deleted version 1 answered %d %q (offset %d), not a refusal as rules apply gives; alert ids of the deleted and the new rule: %s and %s",
		code, s.Status, s.Offset, alerts[0].AlertID, alerts[1].AlertID)
}
