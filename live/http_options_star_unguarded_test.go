package live_test

import (
	"bufio"
	"net"
	"net/http"
	"testing"
)

// live/API.md, "Who may call": every request must be addressed (Host) to the daemon,
// anything else is 403, and "Every answer, refusals included, carries X-Frame-Options:
// DENY, Content-Security-Policy: …, X-Content-Type-Options: nosniff and
// Referrer-Policy: no-referrer"; every error answer is JSON. "OPTIONS *" (the
// asterisk form) is answered by net/http's own general OPTIONS handler, before the
// daemon's guard: 200 without the headers, whatever the Host, to a method no endpoint
// takes.
func TestOptionsAsteriskGoesThroughTheGuard(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	for _, tc := range []struct {
		host string
		want int
	}{
		{d.HTTPAddr(), 0}, // any status, with the headers
		{"rebind.attacker.example", http.StatusForbidden},
	} {
		c, err := net.Dial("tcp", d.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("OPTIONS * HTTP/1.1\r\nHost: " + tc.host + "\r\n\r\n")); err != nil {
			c.Close()
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("OPTIONS * with Host %s: %v", tc.host, err)
		}
		resp.Body.Close()
		if (tc.want != 0 && resp.StatusCode != tc.want) || resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("OPTIONS * with Host %s: %d, X-Frame-Options %q, X-Content-Type-Options %q, Content-Type %q; want %d (0: any) with the security headers",
				tc.host, resp.StatusCode, resp.Header.Get("X-Frame-Options"), resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("Content-Type"), tc.want)
		}
	}
}
