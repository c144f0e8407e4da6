package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/console"
)

// TestConsoleAssetsAnswerMissingInJSON: a file the page does not have, and a folder of
// its assets, were net/http's FileServer answers — a text/plain 404, and a listing of
// the folder's files — against every error answer being {"error": …}. Files the page
// loads are still served as they are.
func TestConsoleAssetsAnswerMissingInJSON(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "")
	c, err := console.New(console.Config{Backend: d.ConsoleBackend()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	defer c.Close()
	for _, tc := range []struct {
		path        string
		status      int
		contentType string
	}{
		{"/console/", 200, "text/html"},
		{"/console/app.js", 200, "text/javascript"},
		{"/console/vendor/uplot/uPlot.min.css", 200, "text/css"},
		{"/console/nope.js", 404, "application/json"},
		{"/console/vendor/", 404, "application/json"},
		{"/console/vendor/uplot/", 404, "application/json"},
		{"/console/vendor", 404, "application/json"},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != tc.status || !strings.HasPrefix(ct, tc.contentType) {
			t.Errorf("GET %s: %d %q %.80q; want %d %s", tc.path, resp.StatusCode, ct, body, tc.status, tc.contentType)
			continue
		}
		if tc.status == 404 {
			var e struct{ Error string }
			if json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, tc.path) {
				t.Errorf("GET %s: answer %q, want {\"error\": …} naming the path", tc.path, body)
			}
		}
	}
}
