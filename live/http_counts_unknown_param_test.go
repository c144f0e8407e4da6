package live_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
)

// TestCountsRefusesAnUnknownParameter: live/API.md says /v1/counts never takes a
// parameter it cannot read as absent, "which would answer another question (… a
// mangled customer every customer)", and the console refuses a body's unknown field
// with 400 naming it. A misspelled parameter name (customers=, Customer=, lmit=) is
// such a mangled parameter, yet handleCounts reads only the names it knows and takes
// the misspelled one as absent: a script asking for one customer's count gets the
// listing of every customer with 200, and one asking for a page of 3 gets a page of
// --counts-page-size.
func TestCountsRefusesAnUnknownParameter(t *testing.T) {
	t.Parallel()
	d, _ := countingDaemon(t, nil)
	for _, tt := range []struct{ query, param string }{
		{"&customers=c-01", "customers"},
		{"&Customer=c-01", "Customer"},
		{"&lmit=3", "lmit"},
		{"&limit=3&cusor=Yy0wMQ", "cusor"},
	} {
		resp, body := d.request(t, "GET", "/v1/counts?scope=*&rule=any"+tt.query, "", nil)
		var e contract.ErrorResponse
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, tt.param) {
			if len(body) > 200 {
				body = body[:200] + "…"
			}
			t.Errorf("?rule=any%s: %d %s; want 400 naming %q", tt.query, resp.StatusCode, body, tt.param)
		}
	}
}
