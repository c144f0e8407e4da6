package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/contract"
)

// TestMuteForLastsAtLeastItsLength: console/API.md says a mute's `for` is "a duration
// from now". The console truncated now+for to the second, so a mute lasted up to a
// second less than asked, and a sub-second one (for "500ms") was often over as it was
// published: the console answered ok and nothing was muted. It rounds up now, as
// `hindsight mutes add --for` does (rule.MuteUntil; found by a review helper).
func TestMuteForLastsAtLeastItsLength(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	before := time.Now()
	var res console.SaveResponse
	body := map[string]any{"id": "brief", "rule": "*", "for": "500ms", "reason": "deploy"}
	resp := call(t, "POST", d.url("/v1/console/mutes"), "", body, &res)
	answered := time.Now()
	if resp.StatusCode != 200 || res.Status != "ok" {
		t.Fatalf("POST mute: %d %+v, want 200 ok", resp.StatusCode, res)
	}
	var ms console.MutesResponse
	call(t, "GET", d.url("/v1/console/mutes"), "", nil, &ms)
	if len(ms.Mutes) != 1 {
		t.Fatalf("mutes: %+v, want the one published", ms.Mutes)
	}
	until := ms.Mutes[0].Until
	if want := before.Add(500 * time.Millisecond); until.Before(want) {
		t.Errorf("a mute asked for 500ms at %s ends at %s, before %s (in force when answered at %s: %v)",
			before.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano),
			answered.Format(time.RFC3339Nano), answered.Before(until))
	}
}

// TestMuteEndedIsRefused: a mute whose until is past would be published, say ok, and
// mute nothing: it is refused with 400, nothing published.
func TestMuteEndedIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var e contract.ErrorResponse
	body := map[string]any{"id": "late", "rule": "*", "until": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}
	if resp := call(t, "POST", d.url("/v1/console/mutes"), "", body, &e); resp.StatusCode != 400 || !strings.Contains(e.Error, "is past") {
		t.Errorf("POST of a mute that ended: %d %q, want 400 saying its until is past", resp.StatusCode, e.Error)
	}
	var ms console.MutesResponse
	call(t, "GET", d.url("/v1/console/mutes"), "", nil, &ms)
	if len(ms.Mutes) != 0 {
		t.Errorf("mutes: %+v, want none published", ms.Mutes)
	}
}
