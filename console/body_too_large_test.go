package console_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestBodyOverTheCapIs413: API.md: a body is at most --http-max-body-bytes, "else
// 413", with the error naming the flag; nothing is published. No console test sent one
// (a mutation hunt: answering such a body 400 passed every console test). The body is
// sent chunked, its length unsaid: a declared length over the cap is refused by the
// daemon before the console reads anything.
func TestBodyOverTheCapIs413(t *testing.T) {
	t.Parallel()
	d := startDaemonWith(t, "", func(c *live.Config) { c.HTTPMaxBodyBytes = 1000 })
	body := `{"rule": {"id": "big", "scope": "*", "name": "` + strings.Repeat("x", 1000) + `", "when": {"path": "$.type", "op": "exists"}, "threshold": 1}}`
	for _, path := range []string{"/v1/console/validate", "/v1/console/rules"} {
		resp, data := livetest.Request(t, "POST", d.url(path), io.MultiReader(strings.NewReader(body)), func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
		})
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), "over the limit of 1000 bytes (--http-max-body-bytes)") {
			t.Errorf("POST %s of %d bytes with a cap of 1000: %d %s; want 413 naming --http-max-body-bytes", path, len(body), resp.StatusCode, strings.TrimSpace(string(data)))
		}
	}
	if n := d.b.TopicRecords(t, "controls"); n != 0 {
		t.Errorf("the refused save published %d records on controls, want none", n)
	}
}
