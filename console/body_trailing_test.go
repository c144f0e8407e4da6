package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestBodyWithMoreAfterItsJSONIsRefused: a body is one JSON value; anything after it
// is answered 400 saying so, rather than read as the value alone.
func TestBodyWithMoreAfterItsJSONIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	for _, body := range []string{loginRuleBody + ` {}`, loginRuleBody + ` x`} {
		resp, data := livetest.Request(t, "POST", d.url("/v1/console/validate"), strings.NewReader(body), func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
		})
		var e contract.ErrorResponse
		_ = json.Unmarshal(data, &e) // a body that is not JSON leaves e empty, which the check reports
		if resp.StatusCode != 400 || !strings.Contains(e.Error, "more follows the JSON value") {
			t.Errorf("validate of %q: %d %s, want 400 saying more follows the JSON value", body, resp.StatusCode, data)
		}
	}
}

const loginRuleBody = `{"rule":` + loginRule + `}`
