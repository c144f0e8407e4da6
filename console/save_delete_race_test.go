package console_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSaveRacingADeleteIsRefusedNotMadeAgain: editor A deletes version 1 of a rule in
// the console while editor B, whose edit began from version 1, saves it; B's console
// checked before its daemon had folded A's delete, so it publishes version 2 after the
// delete (simulated here by publishing that upsert on the controls topic right after
// the delete, as such a console does). The fold took "2 > deleted 1" and the rule came
// back, A's delete undone unsaid. Now the delete carries the version it deletes and
// the fold refuses the edit of it: its status is stale, naming the delete, and the rule
// stays deleted. Made again in the console afterwards, it gets a version above both.
func TestSaveRacingADeleteIsRefusedNotMadeAgain(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	const key = "*/login-failures"
	var s console.SaveResponse
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", draft(loginRule), &s); resp.StatusCode != 200 || s.Status != "ok" || s.Version != 1 {
		t.Fatalf("save: %d %+v", resp.StatusCode, s)
	}
	var del console.SaveResponse
	if resp := call(t, "DELETE", d.url("/v1/console/rules?scope=*&id=login-failures"), "", nil, &del); resp.StatusCode != 200 || del.Status != "ok" {
		t.Fatalf("delete: %d %+v", resp.StatusCode, del)
	}

	edit := livetest.ParseRule(t, strings.Replace(loginRule, `"threshold":3`, `"threshold":4,"version":2`, 1))
	off := d.b.Produce(t, livetest.Upsert(t, edit))[0].Offset
	var st contract.ControlStatus
	poll.Until(t, 20*time.Second, "the status of the racing save", func() bool {
		n := int(d.b.TopicRecords(t, "controls.status"))
		for _, s := range livetest.Statuses(t, d.b.Consume(t, "controls.status", n, 10*time.Second)) {
			if s.Key == key && s.Offset == off {
				st = s
				return true
			}
		}
		return false
	})
	want := fmt.Sprintf("was deleted at offset %d by a delete of version 1", del.Offset)
	if st.Status != contract.ControlStale || !strings.Contains(st.Message, want) {
		t.Errorf("status of version 2 published after the delete of version 1: %s %q, want stale, message ~%q", st.Status, st.Message, want)
	}
	var list struct {
		Rules []struct {
			ID      string
			Version int64
		}
	}
	if resp := call(t, "GET", d.url("/v1/console/rules"), "", nil, &list); resp.StatusCode != 200 || len(list.Rules) != 0 {
		t.Errorf("rules after the racing save: %d %+v, want none: the delete was undone", resp.StatusCode, list.Rules)
	}

	body := map[string]any{"rule": json.RawMessage(loginRule), "base": console.SaveBase{}}
	if resp := call(t, "POST", d.url("/v1/console/rules"), "", body, &s); resp.StatusCode != 200 || s.Status != "ok" || s.Version != 3 {
		t.Errorf("the rule made again: %d %+v, want ok at version 3, above the version the racing edit published", resp.StatusCode, s)
	}
}
