package console_test

import (
	"strings"
	"testing"
	"time"
)

// TestMuteWithForAndUntilIsRefused: API.md, POST /v1/console/mutes: `for` is given "in
// place of until"; a mute naming both is ambiguous (which end did the client mean?)
// and is 400, nothing published. No test sent both (a mutation hunt: taking for and
// then letting until override it, 200 ok, passed every console test).
func TestMuteWithForAndUntilIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	until := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	code, answer := postJSON(t, d, "/v1/console/mutes", `{"id": "deploy", "scope": "c-1", "rule": "*", "for": "2h", "until": "`+until+`"}`)
	if code != 400 || !strings.Contains(answer, "instead of until") {
		t.Errorf("mute with for 2h and until %s: %d %s; want 400 saying for is instead of until", until, code, answer)
	}
	if n := d.b.TopicRecords(t, "controls"); n != 0 {
		t.Errorf("the refused mute published %d records on controls, want none", n)
	}
}
