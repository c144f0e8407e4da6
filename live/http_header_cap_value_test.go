package live_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live"
)

// TestHeaderCapIsTheFlagsValue: README.md, "Limits": the request line and headers are
// at most --http-max-header-bytes, else 431, and hindsight_limit{name=
// "http_max_header_bytes"} shows that value. The daemon gives the value to net/http's
// Server.MaxHeaderBytes (configureServer), which reads up to 4096 bytes more before
// it answers 431: with a cap of 4096, 7 KiB of headers are taken and answered 200,
// the limit in force is not the one the flag and /metrics say.
func TestHeaderCapIsTheFlagsValue(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) { c.HTTPMaxHeaderBytes = 4096 })
	if v := d.metric(t, "hindsight_limit", "name", "http_max_header_bytes"); v != 4096 {
		t.Fatalf("hindsight_limit{http_max_header_bytes} = %v, want 4096", v)
	}
	resp, _ := d.request(t, "GET", "/healthz", "", func(r *http.Request) { r.Header.Set("X-Big", strings.Repeat("a", 7<<10)) })
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("7 KiB of headers over a cap of 4096 bytes: %d, want 431", resp.StatusCode)
	}
	if n := d.reached(t, "http_max_header_bytes"); n != 1 {
		t.Errorf("http_max_header_bytes reached %v times, want 1", n)
	}
}
