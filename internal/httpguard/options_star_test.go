package httpguard_test

import (
	"bufio"
	"net"
	"net/http"
	"testing"

	"github.com/hindsightdev/hindsight/internal/httpguard"
)

// Serve's guard sets the security headers on every answer and refuses a Host that is
// not the server's (403). "OPTIONS *" is answered by net/http's general OPTIONS
// handler, which the guard never sees: 200 without the headers, whatever the Host.
func TestOptionsAsteriskIsGuarded(t *testing.T) {
	t.Parallel()
	addr, _, _ := serve(t, httpguard.Limits{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("OPTIONS * HTTP/1.1\r\nHost: rebind.attacker.example\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !secure(resp) {
		t.Errorf("OPTIONS * with Host rebind.attacker.example: %d %v; want 403 with the security headers", resp.StatusCode, resp.Header)
	}
}
