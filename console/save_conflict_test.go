package console_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestSaveRefusesAnEditBegunFromAnotherVersion: two people open version 1 of a rule;
// the first saves version 2; the second's save, begun from version 1, must not undo it
// unsaid: it is refused ("conflict", 409) and nothing is published. So is a new rule,
// or a renamed one, whose key an active rule holds, and an edit of a rule deleted
// since. A save without a base replaces whatever is active, as before.
func TestSaveRefusesAnEditBegunFromAnotherVersion(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	const key = "*/login-failures"
	threshold := func(n string) string { return strings.Replace(loginRule, `"threshold":3`, `"threshold":`+n, 1) }
	for _, tc := range []struct {
		name    string
		rule    string
		base    *console.SaveBase // nil: none sent
		delete  bool              // delete the rule first
		code    int
		status  string
		version int64
		msg     string
	}{
		{name: "a new rule", rule: loginRule, base: &console.SaveBase{}, code: 200, status: "ok", version: 1},
		{name: "the first editor's change", rule: threshold("4"), base: &console.SaveBase{Key: key, Version: 1}, code: 200, status: "ok", version: 2},
		{name: "the second editor's, begun from version 1", rule: threshold("5"), base: &console.SaveBase{Key: key, Version: 1},
			code: 409, status: "conflict", version: 2, msg: "changed since this edit began from version 1: version 2 is active"},
		{name: "a new rule of an active rule's key", rule: threshold("6"), base: &console.SaveBase{},
			code: 409, status: "conflict", version: 2, msg: "already exists (version 2 is active)"},
		{name: "a rule renamed to an active rule's key", rule: threshold("6"), base: &console.SaveBase{Key: "*/other", Version: 3},
			code: 409, status: "conflict", version: 2, msg: "already exists"},
		{name: "a new rule whose key was made meanwhile", rule: threshold("6"), base: &console.SaveBase{Key: key},
			code: 409, status: "conflict", version: 2, msg: "made since this edit began as a new rule"},
		{name: "no base: replaces the active version", rule: threshold("7"), code: 200, status: "ok", version: 3},
		{name: "an edit of a rule deleted since", rule: threshold("8"), base: &console.SaveBase{Key: key, Version: 3}, delete: true,
			code: 409, status: "conflict", version: 0, msg: "no longer active"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.delete {
				var s console.SaveResponse
				if resp := call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=login-failures"), "", nil, &s); resp.StatusCode != 200 || s.Status != "ok" {
					t.Fatalf("delete: %d %+v", resp.StatusCode, s)
				}
			}
			before := d.b.TopicRecords(t, "controls")
			body := map[string]any{"rule": json.RawMessage(tc.rule)}
			if tc.base != nil {
				body["base"] = tc.base
			}
			var s console.SaveResponse
			resp := call(t, "POST", d.url("/v1/console/rules"), "", body, &s)
			if resp.StatusCode != tc.code || s.Status != tc.status || s.Version != tc.version || !strings.Contains(s.Message, tc.msg) {
				t.Errorf("got %d %+v, want %d %s version %d message ~%q", resp.StatusCode, s, tc.code, tc.status, tc.version, tc.msg)
			}
			published := d.b.TopicRecords(t, "controls") - before
			if tc.status == "conflict" && (published != 0 || s.Offset != -1) {
				t.Errorf("a refused save published %d record(s), offset %d; want none", published, s.Offset)
			}
		})
	}
}
