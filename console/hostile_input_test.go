package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestSaveNegativeWaitMSIsRefused: DELETE refuses wait_ms below 1 ("wait_ms must be a
// positive number", 400); a save's wait_ms of -5 was taken silently as the default wait
// and the rule published.
func TestSaveNegativeWaitMSIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	var s console.SaveResponse
	body := map[string]any{"rule": json.RawMessage(loginRule), "wait_ms": -5}
	resp := call(t, "POST", d.url("/v1/console/rules"), "", body, &s)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("save with wait_ms -5: %d %+v (%d records on controls), want 400 as DELETE answers",
			resp.StatusCode, s, d.b.TopicRecords(t, "controls"))
	}
}

// TestSaveDuplicateKeysAreRefused: a request body or a rule naming a field twice is
// refused (400/422), as the rules file's YAML refuses it; it was saved with the last
// value, the rule published and active.
func TestSaveDuplicateKeysAreRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, body := range []string{
		`{"rule": {"id": "dup", "scope": "*", "when": {"path": "$.type", "op": "==", "value": "a"}, "threshold": 3, "threshold": 300}}`,
		`{"rule": {"id": "dup2", "scope": "*", "when": {"path": "$.type", "op": "==", "value": "a"}, "threshold": 3}, "rule": {"id": "dup2", "scope": "*", "when": {"path": "$.type", "op": "==", "value": "b"}, "threshold": 9}}`,
	} {
		resp, data := livetest.Request(t, "POST", d.url("/v1/console/rules"), strings.NewReader(body), func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
		})
		if resp.StatusCode/100 == 2 {
			t.Errorf("save of %s\n  answered %d %s (%d records on controls); want it refused",
				body, resp.StatusCode, strings.TrimSpace(string(data)), d.b.TopicRecords(t, "controls"))
		}
	}
}
