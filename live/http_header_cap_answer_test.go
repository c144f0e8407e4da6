package live_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/live"
)

// TestHeaderCapAnswerNamesTheFlag: live/API.md says "Over a cap the answer says which
// flag sets it: 413 (body), 431 (headers), …" and that every error answer is
// {"error": …}. The 431 is net/http's own answer (the server's MaxHeaderBytes), the
// text/plain "431 Request Header Fields Too Large", which names no flag: the daemon
// notices it (httpguard.Conn.Write, to count it) but lets it through as it is.
func TestHeaderCapAnswerNamesTheFlag(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) { c.HTTPMaxHeaderBytes = 4096 })
	resp, body := d.request(t, "GET", "/healthz", "", func(r *http.Request) { r.Header.Set("X-Big", strings.Repeat("a", 20<<10)) })
	var e contract.ErrorResponse
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, "--http-max-header-bytes") {
		t.Errorf("20 KiB of headers over a 4 KiB cap: %d %q %q; want 431 with {\"error\": …} naming --http-max-header-bytes",
			resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
