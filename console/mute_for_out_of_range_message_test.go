package console_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestMuteForOutOfRangeSaysSo: a mute's "for" past the longest duration (106751d,
// 2562047h) is refused 400, rightly, but the answer says `for: a positive duration
// ("2h", "1d"), instead of until` to a duration that is positive and well formed:
// rule.ParseDuration's own reason ("out of range; at most 106751d") is dropped, so the
// caller is told to fix what is not wrong. The answer should say it is out of range
// and what the most is.
func TestMuteForOutOfRangeSaysSo(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, forValue := range []string{"200000d", "9999999999h"} {
		body := map[string]any{"id": "long", "rule": "*", "for": forValue, "reason": "freeze"}
		var e struct {
			Error string `json:"error"`
		}
		resp := call(t, "POST", d.url("/v1/console/mutes"), "", body, &e)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "out of range") {
			t.Errorf(`POST /v1/console/mutes {"for": %q}: %d %q; want 400 saying the duration is out of range (and the most it may be)`,
				forValue, resp.StatusCode, e.Error)
		}
	}
}
