package console_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestRecreatedRuleAlertsAreNotDuplicates: a rule deleted in the console and made again
// under its id gets a version above the deleted one's, not 1 again: alert ids are
// made of the version (scope, id, customer, version, threshold), and the same version
// would give the new rule's alerts the deleted rule's alerts' ids, which consumers drop
// as duplicates, the console's own alert feed first.
func TestRecreatedRuleAlertsAreNotDuplicates(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	save := func(js string) console.SaveResponse {
		t.Helper()
		var s console.SaveResponse
		if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s); resp.StatusCode != 200 || s.Status != "ok" {
			t.Fatalf("save: %d %+v", resp.StatusCode, s)
		}
		return s
	}
	first := save(`{"id":"two","scope":"*","when":{"path":"$.type","op":"==","value":"file.read"},"threshold":2}`)
	produce(t, d.b, []event{{customer: "c-4", typ: "file.read", at: time.Now()}, {customer: "c-4", typ: "file.read", at: time.Now()}})
	d.b.WaitTopicRecords(t, "alerts", 1, 20*time.Second)

	var s console.SaveResponse
	if resp := call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=two"), "", nil, &s); resp.StatusCode != 200 || s.Status != "ok" {
		t.Fatalf("delete: %d %+v", resp.StatusCode, s)
	}
	// Another rule under the same id: failed logins, another incident.
	second := save(`{"id":"two","scope":"*","when":{"path":"$.type","op":"==","value":"login.failed"},"threshold":2}`)
	produce(t, d.b, []event{{customer: "c-4", typ: "login.failed", at: time.Now()}, {customer: "c-4", typ: "login.failed", at: time.Now()}})
	d.b.WaitTopicRecords(t, "alerts", 2, 20*time.Second)

	alerts := livetest.Alerts(t, d.b.Consume(t, "alerts", 2, 10*time.Second))
	// 3, not 2: the delete of version 1 retired version 2 too, which an edit of version
	// 1 racing the delete would publish (TestSaveRacingADeleteIsRefusedNotMadeAgain).
	if first.Version != 1 || second.Version != 3 || alerts[0].AlertID == alerts[1].AlertID {
		t.Errorf("versions saved %d then %d, alert ids %s and %s: want 1 then 3, and two ids",
			first.Version, second.Version, alerts[0].AlertID, alerts[1].AlertID)
	}
}
