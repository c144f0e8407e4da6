package live_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live"
)

// TestServersOwnRefusalsCarryTheSecurityHeaders: live/API.md, "Who may call": "Every
// answer, refusals included, carries X-Frame-Options: DENY, Content-Security-Policy:
// …, X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer". guard sets
// them on what the handlers answer, but net/http writes some refusals itself, before
// any handler: the 431 for headers over --http-max-header-bytes and the 400 for a
// request it cannot parse. Those carry none of the four.
func TestServersOwnRefusalsCarryTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) { c.HTTPMaxHeaderBytes = 4096 })
	for _, tt := range []struct {
		name, request string
		code          int
	}{
		{"headers over the cap", "GET /healthz HTTP/1.1\r\nHost: " + d.HTTPAddr() + "\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"a header line without a colon", "GET /healthz HTTP/1.1\r\nHost: " + d.HTTPAddr() + "\r\nnot a header\r\n\r\n", http.StatusBadRequest},
	} {
		c, err := net.Dial("tcp", d.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(tt.request)); err != nil {
			c.Close()
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			c.Close()
			t.Fatalf("%s: %v", tt.name, err)
		}
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.code)
		}
		for h, want := range map[string]string{
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %d with %s %q, want %q", tt.name, resp.StatusCode, h, got, want)
			}
		}
	}
}
