package httpguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

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

// refusalDrain bounds how long a connection refused for its head is read (and what is
// read thrown away) after the answer: a client still sending its head when the
// connection closes would get a reset, and may lose the answer with it (net/http waits
// as long after its own 431).
const refusalDrain = 500 * time.Millisecond

// errHeadTooLarge ends the read of a head over the cap. It is a read's *net.OpError so
// that net/http closes the connection without an answer of its own: HeadConn has
// answered.
var errHeadTooLarge = errors.New("the request's head is over " + HeaderBytesFlag)

// HeadConn holds each request's head read on it to max bytes, and answers net/http's
// own refusals in JSON with the security headers.
//
// net/http's Server.MaxHeaderBytes is not such a cap: it reads up to 4096 bytes past
// it (room for its buffer), so with 4096 a head of 7 KiB was served. HeadConn counts
// the head as read from the connection: the request line, each header line and the
// empty line that ends them, every byte of each with its line end (CRLF or LF), and
// any empty lines before the request line; a head over max is answered 431 naming
// HeaderBytesFlag, and its connection closed. It counts what is read while the server
// waits for a request (the connection new or idle, as ConnState reports it through
// SetState), never a body: of a request sent before the previous one was answered
// (pipelining, which no browser does), what the server read ahead with the previous
// one, at most its 4096-byte buffer, is not counted.
//
// net/http writes some refusals itself, before any handler and past every header a
// handler sets: 431 over MaxHeaderBytes, 400 for a request it cannot parse (a header
// line without a colon, no Host), 501 for a transfer coding it does not know, 417 for
// an Expect header other than 100-continue. Write answers each in JSON,
// {"error": …}, with the security headers.
type HeadConn struct {
	net.Conn
	max     int
	reached func()

	mu sync.Mutex
	// reading: the server is reading a request's head; n bytes of it so far, line of
	// its current line (lastCR: the line's last byte is a CR), begun once a line with
	// content (the request line) was read.
	reading bool
	n, line int
	lastCR  bool
	begun   bool
}

// NewHeadConn wraps c, a connection a server accepted, holding heads to max bytes;
// reached is called for each head refused (by HeadConn or net/http).
func NewHeadConn(c net.Conn, max int, reached func()) *HeadConn {
	return &HeadConn{Conn: c, max: max, reached: reached, reading: true}
}

// SetState notes the server's state of the connection (http.Server.ConnState): a new
// or idle connection's next bytes are a request's head.
func (c *HeadConn) SetState(st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reading = st == http.StateNew || st == http.StateIdle
	c.n, c.line, c.lastCR, c.begun = 0, 0, false, false
}

func (c *HeadConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.over(p[:n]) {
		c.reached()
		c.refuse()
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: errHeadTooLarge}
	}
	return n, err
}

// over counts p, read from the connection, into the head being read, and says whether
// the head went over max before it ended.
func (c *HeadConn) over(p []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range p {
		if !c.reading {
			return false
		}
		c.n++
		if c.n > c.max {
			c.reading = false
			return true
		}
		if b != '\n' {
			c.line++
			c.lastCR = b == '\r'
			continue
		}
		empty := c.line == 0 || c.line == 1 && c.lastCR
		if empty && c.begun {
			c.reading = false // the head ended; what follows is its body
		}
		c.begun = c.begun || !empty
		c.line, c.lastCR = 0, false
	}
	return false
}

// refuse answers 431 naming the flag, then half-closes the connection and reads what
// the client still sends, for at most refusalDrain.
func (c *HeadConn) refuse() {
	deadline := time.Now().Add(refusalDrain)
	_ = c.Conn.SetWriteDeadline(deadline)
	if _, err := c.Conn.Write(refusal(http.StatusRequestHeaderFieldsTooLarge, c.tooLarge())); err != nil {
		return
	}
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.Conn.SetReadDeadline(deadline)
	_, _ = io.Copy(io.Discard, c.Conn)
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

// expectationFailed reads p as net/http's own 417 for an Expect header other than
// 100-continue, which it answers before any handler (and so before the guard), through
// the usual response path rather than in ownRefusal's format: an answer with a 417
// status and without the security headers, which the guards set on every answer a
// handler makes.
func expectationFailed(p []byte) bool {
	head, _, found := bytes.Cut(p, []byte("\r\n\r\n"))
	return found && bytes.HasPrefix(head, []byte("HTTP/1.1 417 ")) && !bytes.Contains(head, []byte("\r\nX-Frame-Options: "))
}

func (c *HeadConn) Write(p []byte) (int, error) {
	code, text, ok := ownRefusal(p)
	if !ok && expectationFailed(p) {
		code, text, ok = http.StatusExpectationFailed, "", true
	}
	if !ok {
		return c.Conn.Write(p)
	}
	msg := "the request could not be read as HTTP/1.1 (" + text + ")"
	switch code {
	case http.StatusExpectationFailed:
		msg = "the request's Expect header asks for what this server does not do: the only expectation it meets is 100-continue"
	case http.StatusRequestHeaderFieldsTooLarge:
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
