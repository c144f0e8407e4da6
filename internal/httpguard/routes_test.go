package httpguard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/httpguard"
)

// TestServeRoutesAnswerInJSON: Serve answers a path its mux does not serve 404, and a
// path it serves with another method 405 naming the methods in Allow, in JSON with the
// security headers, as live's API does; what the mux serves (GET, and HEAD by GET's
// handler) it serves as before.
func TestServeRoutesAnswerInJSON(t *testing.T) {
	t.Parallel()
	addr, _, _ := serve(t, httpguard.Limits{})
	for _, tc := range []struct {
		method, path string
		want         int
		allow, body  string
	}{
		{"GET", "/hello", http.StatusOK, "", "hello"},
		{"HEAD", "/hello", http.StatusOK, "", ""},
		{"GET", "/nope", http.StatusNotFound, "", ""},
		{"GET", "/hello/", http.StatusNotFound, "", ""},
		{"POST", "/hello", http.StatusMethodNotAllowed, "GET, HEAD", ""},
		{"DELETE", "/hello", http.StatusMethodNotAllowed, "GET, HEAD", ""},
	} {
		req, err := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || !secure(resp) || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q, headers %v; want %d, Allow %q, with the security headers", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), resp.Header, tc.want, tc.allow)
			continue
		}
		if tc.want == http.StatusOK {
			if string(body) != tc.body {
				t.Errorf("%s %s: body %q, want %q", tc.method, tc.path, body, tc.body)
			}
			continue
		}
		var e struct {
			Error string `json:"error"`
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &e) != nil || e.Error == "" {
			t.Errorf("%s %s: Content-Type %q, body %q; want {\"error\": …} in JSON", tc.method, tc.path, resp.Header.Get("Content-Type"), body)
		}
	}
}
