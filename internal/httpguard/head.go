package httpguard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/hindsightdev/hindsight/contract"
)

// HeaderBytesFlag is the flag that sets every server's cap on a request's head, which
// its 431 names.
const HeaderBytesFlag = "--http-max-header-bytes"

// apiCSP: an API answer loads nothing and may be framed by nobody.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// SecurityHeaders sets on h the headers every answer carries, a refusal too (the
// console's page replaces the Content-Security-Policy with its own).
func SecurityHeaders(h http.Header) {
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", apiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// HeadConn answers net/http's own refusals in JSON with the security headers:
// net/http writes them itself, before any handler and past every header a handler
// sets: 431 over MaxHeaderBytes (naming HeaderBytesFlag here), 400 for a request it
// cannot parse (a header line without a colon, no Host), 501 for a transfer coding it
// does not know. Each is answered {"error": …}.
type HeadConn struct {
	net.Conn
	max     int
	reached func()
}

// NewHeadConn wraps c, a connection a server accepted whose heads are capped at max
// bytes; reached is called for each head refused.
func NewHeadConn(c net.Conn, max int, reached func()) *HeadConn {
	return &HeadConn{Conn: c, max: max, reached: reached}
}

func (c *HeadConn) tooLarge() string {
	return fmt.Sprintf("the request line and headers are over the limit of %d bytes (%s): send fewer or shorter headers", c.max, HeaderBytesFlag)
}

// ownRefusal reads p as one of net/http's own refusals: "HTTP/1.1 CODE TEXT" then
// exactly these headers, then a line of text, in one write. A handler's answer has a
// Date header (net/http adds it), so it never matches.
func ownRefusal(p []byte) (code int, text string, ok bool) {
	const errorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	status, body, found := bytes.Cut(p, []byte(errorHeaders))
	rest, isHTTP := bytes.CutPrefix(status, []byte("HTTP/1.1 "))
	if !found || !isHTTP || len(rest) < 3 || bytes.ContainsAny(status, "\r\n") || bytes.ContainsAny(body, "\r\n") {
		return 0, "", false
	}
	code, err := strconv.Atoi(string(rest[:3]))
	if err != nil || code < 400 || code > 599 {
		return 0, "", false
	}
	return code, string(body), true
}

func (c *HeadConn) Write(p []byte) (int, error) {
	code, text, ok := ownRefusal(p)
	if !ok {
		return c.Conn.Write(p)
	}
	msg := "the request could not be read as HTTP/1.1 (" + text + ")"
	if code == http.StatusRequestHeaderFieldsTooLarge {
		c.reached()
		msg = c.tooLarge()
	}
	if _, err := c.Conn.Write(refusal(code, msg)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite half-closes a TCP connection: net/http does it before closing after an
// answer that ends the connection, so that the client reads the answer, not a reset.
func (c *HeadConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// refusal is a whole answer, code with {"error": msg}, that ends the connection.
func refusal(code int, msg string) []byte {
	body, err := json.Marshal(contract.ErrorResponse{Error: msg})
	if err != nil {
		body = []byte(`{"error":"` + http.StatusText(code) + `"}`) // an ErrorResponse always encodes
	}
	body = append(body, '\n')
	h := http.Header{}
	SecurityHeaders(h)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	_ = h.Write(&b)
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}
