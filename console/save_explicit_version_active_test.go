package console_test

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestSaveExplicitOldVersionOfAMadeAgainRuleIsStale: the check of a version against
// those a delete retired is for a key with no active rule, as `rules apply` makes it.
// Once the rule is made again (version 3 after a delete of 1), an explicit version 1
// is published and the daemon answers it stale, naming the active version, as for
// any rule never deleted. No test had a rule both retired and active (a mutation hunt:
// checking retired versions whether or not the rule is active answered 422 invalid,
// nothing published, and passed every console test).
func TestSaveExplicitOldVersionOfAMadeAgainRuleIsStale(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	save := func(js string) (int, console.SaveResponse) {
		t.Helper()
		var s console.SaveResponse
		resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(js), &s)
		return resp.StatusCode, s
	}
	if code, s := save(loginRule); code != 200 || s.Status != "ok" || s.Version != 1 {
		t.Fatalf("first save: %d %+v, want 200 ok version 1", code, s)
	}
	var del console.SaveResponse
	if resp := call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=login-failures"), "", nil, &del); resp.StatusCode != 200 || del.Status != "ok" {
		t.Fatalf("delete: %d %+v", resp.StatusCode, del)
	}
	if code, s := save(loginRule); code != 200 || s.Status != "ok" || s.Version != 3 {
		t.Fatalf("made again: %d %+v, want 200 ok version 3", code, s)
	}
	before := d.b.TopicRecords(t, "controls")
	code, s := save(strings.Replace(loginRule, `"id"`, `"version":1,"id"`, 1))
	if code != 409 || s.Status != "stale" || s.Offset != before || !strings.Contains(s.Message, "not newer") {
		t.Errorf("explicit version 1 of the rule made again at 3: %d %+v; want 409 stale, published at offset %d, message saying not newer", code, s, before)
	}
}
