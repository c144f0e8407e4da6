package live_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
)

// live/API.md, "Who may call": "The refusals the HTTP server makes before any endpoint
// sees the request are answered so too, in JSON" with the security headers (431, 400,
// 501 are). A request with an Expect other than 100-continue is refused by net/http
// itself, 417, before the guard: without the headers, not JSON, and whatever its Host.
func TestExpectationRefusalCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	for _, host := range []string{d.HTTPAddr(), "rebind.attacker.example"} {
		c, err := net.Dial("tcp", d.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nExpect: 200-ok\r\n\r\n")); err != nil {
			c.Close()
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("Expect: 200-ok, Host %s: %v", host, err)
		}
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Expect: 200-ok, Host %s: %d, X-Frame-Options %q, Content-Type %q; want the refusal in JSON with the security headers",
				host, resp.StatusCode, resp.Header.Get("X-Frame-Options"), ct)
		}
	}
}
