package live_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live"
)

// securityHeaders checks the headers every answer carries.
func securityHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %s = %q, want %q", what, h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy %q does not forbid framing", what, csp)
	}
}

// TestHostCheckAndSecurityHeaders: a request addressed to another host than the
// daemon's (DNS rebinding) is refused; loopback names with the daemon's port and the
// --allowed-hosts are served; every answer, refusals included, carries the security
// headers, and the console page a strict Content-Security-Policy.
func TestHostCheckAndSecurityHeaders(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.AllowedHosts = []string{"hindsight.example", "proxy.example:8443"}
	})
	_, port, _ := net.SplitHostPort(d.HTTPAddr())
	for _, tc := range []struct {
		host string
		code int
	}{
		{d.HTTPAddr(), 200},
		{"localhost:" + port, 200},
		{"LOCALHOST:" + port, 200},
		{"[::1]:" + port, 200},
		{"hindsight.example", 200},
		{"Hindsight.Example:443", 200},
		{"proxy.example:8443", 200},
		{"proxy.example:9999", 403},
		{"evil.example:" + port, 403},
		{"evil.example", 403},
		{"127.0.0.1:1", 403}, // loopback, but not this daemon's port
		{"10.1.2.3:" + port, 403},
	} {
		for _, path := range []string{"/healthz", "/v1/rules", "/v1/console/info"} {
			resp, body := d.request(t, "GET", path, "", host(tc.host))
			if resp.StatusCode != tc.code {
				t.Errorf("Host %s, GET %s: %d %s, want %d", tc.host, path, resp.StatusCode, body, tc.code)
			}
			if tc.code == 403 && (!strings.Contains(body, "--allowed-hosts") || !strings.Contains(body, "DNS rebinding")) {
				t.Errorf("Host %s: refusal %s does not say what to do", tc.host, body)
			}
			securityHeaders(t, "Host "+tc.host+" GET "+path, resp)
		}
	}

	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/v1/state", "/v1/counts", "/v1/nope", "/v1/console/nope"} {
		resp, _ := d.request(t, "GET", path, "", nil)
		securityHeaders(t, "GET "+path, resp)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: API answers load nothing, CSP %q", path, csp)
		}
	}
	for _, path := range []string{"/", "/console/app.js", "/console/style.css"} {
		resp, _ := d.request(t, "GET", path, "", nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		securityHeaders(t, "GET "+path, resp)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: the page's CSP %q is not strict", path, csp)
		}
	}
}

// TestReadsNeedTheToken: with --api-token, every read needs the token (the daemon's
// API, /metrics, the console's data and stream), except the health checks and the
// console page with the one call it needs to ask for a token; with --public-read they
// are open again while writes still need the token.
func TestReadsNeedTheToken(t *testing.T) {
	t.Parallel()
	const token = "s3cret"
	d := startHTTPDaemon(t, 1, func(c *live.Config) { c.APIToken = token })
	reads := []struct{ method, path, body string }{
		{"GET", "/v1/rules", ""},
		{"GET", "/v1/counts?rule=none", ""},
		{"GET", "/v1/state", ""},
		{"GET", "/metrics", ""},
		{"GET", "/v1/console/rules", ""},
		{"GET", "/v1/console/alerts", ""},
		{"GET", "/v1/console/counts?id=none", ""},
		{"GET", "/v1/console/stream", ""},
		{"POST", "/v1/console/validate", `{"rule":{"id":"r","scope":"*","when":{"path":"$.a"},"threshold":1}}`},
	}
	for _, rq := range reads {
		resp, body := d.request(t, rq.method, rq.path, rq.body, nil)
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, "API token for reads") {
			t.Errorf("%s %s without the token: %d %q %s, want 401 with a Bearer challenge", rq.method, rq.path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		if resp, body := d.request(t, rq.method, rq.path, rq.body, bearer("wrong")); resp.StatusCode != 401 || !strings.Contains(body, "wrong") {
			t.Errorf("%s %s with a wrong token: %d %s", rq.method, rq.path, resp.StatusCode, body)
		}
		if rq.path == "/v1/console/stream" {
			continue // open-ended: its answer with the token is the console's tests' business
		}
		if resp, body := d.request(t, rq.method, rq.path, rq.body, bearer(token)); resp.StatusCode == 401 || resp.StatusCode >= 500 {
			t.Errorf("%s %s with the token: %d %s", rq.method, rq.path, resp.StatusCode, body)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/", "/console/app.js"} {
		if resp, body := d.request(t, "GET", path, "", nil); resp.StatusCode == 401 {
			t.Errorf("GET %s needs no token: %d %s", path, resp.StatusCode, body)
		}
	}
	resp, body := d.request(t, "GET", "/v1/console/info", "", nil)
	var info struct {
		TokenRequired     bool `json:"token_required"`
		ReadTokenRequired bool `json:"read_token_required"`
	}
	if err := json.Unmarshal([]byte(body), &info); resp.StatusCode != 200 || err != nil || !info.TokenRequired || !info.ReadTokenRequired {
		t.Errorf("info without a token: %d %s (%v): the page must learn that reads need the token", resp.StatusCode, body, err)
	}

	pub := startHTTPDaemon(t, 1, func(c *live.Config) { c.APIToken, c.PublicRead = token, true })
	for _, rq := range reads {
		if rq.path == "/v1/console/stream" {
			continue
		}
		if resp, body := pub.request(t, rq.method, rq.path, rq.body, nil); resp.StatusCode == 401 {
			t.Errorf("--public-read: %s %s without the token: %d %s", rq.method, rq.path, resp.StatusCode, body)
		}
	}
	save := `{"rule":{"id":"r","scope":"*","when":{"path":"$.a"},"threshold":1},"wait_ms":1}`
	if resp, body := pub.request(t, "POST", "/v1/console/rules", save, nil); resp.StatusCode != 401 {
		t.Errorf("--public-read: a write without the token: %d %s, want 401", resp.StatusCode, body)
	}
	_, body = pub.request(t, "GET", "/v1/console/info", "", nil)
	if !strings.Contains(body, `"read_token_required":false`) {
		t.Errorf("--public-read: info %s", body)
	}
}
