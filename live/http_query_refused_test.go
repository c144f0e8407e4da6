package live_test

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestEndpointsWithoutParametersRefuseThem: /v1/rules and /v1/state read no parameter,
// and answered a query string (a filter a client thought they took: ?scope=c-1) with
// the unfiltered whole; they refuse it now, 400 naming it, as /v1/counts refuses one it
// does not read and the console's endpoints do. The probes still ignore theirs.
func TestEndpointsWithoutParametersRefuseThem(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, _ := livetest.StartLive(t, b, nil)
	base := "http://" + d.HTTPAddr()
	for _, tc := range []struct {
		path   string
		status int
		names  string
	}{
		{"/v1/rules?scope=c-1", 400, "scope"},
		{"/v1/state?partition=0", 400, "partition"},
		{"/v1/rules", 200, ""},
		{"/v1/state", 200, ""},
		{"/healthz?verbose=1", 200, ""},
	} {
		var body map[string]any
		status := livetest.GetJSON(t, base+tc.path, &body)
		if status != tc.status {
			t.Errorf("GET %s: %d %v, want %d", tc.path, status, body, tc.status)
			continue
		}
		if tc.names != "" {
			if msg, _ := body["error"].(string); !strings.Contains(msg, tc.names) {
				t.Errorf("GET %s: error %q does not name %q", tc.path, msg, tc.names)
			}
		}
	}
}
