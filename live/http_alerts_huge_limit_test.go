package live_test

import (
	"net/http"
	"testing"
)

// TestConsoleAlertsHugeLimitIsAll: GET /v1/console/alerts?limit=N answers the newest N
// recent alerts (console/API.md), so a limit past what is kept is all of them, as
// limit=1000000 is. A limit past the int range is read with strconv.Atoi, whose range
// error is taken for a malformed number: 400 "limit must be a number from 0 … up",
// which the number is. (/v1/counts reads its limit with httpjson.PositiveInt, which
// takes such a number as the largest.)
func TestConsoleAlertsHugeLimitIsAll(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	for _, limit := range []string{"1000000", "99999999999999999999"} {
		resp, body := d.request(t, "GET", "/v1/console/alerts?limit="+limit, "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("limit=%s: %d %s; want 200 with every recent alert", limit, resp.StatusCode, body)
		}
	}
}
