package httpguard

import (
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is a connection a guarded server (the live daemon's, Serve's) accepted. Its
// Conn, a HeadConn, holds the request heads to the header cap and answers net/http's
// own refusals in JSON. Conn itself notices the timeouts the server sets on it when
// they end a read or a write, and counts them under their limit's name: net/http
// closes the connection then, and tells no handler, so nothing else could. It gives
// its slot back once, when closed.
//
// The server must report each state change to SetState (Configure sets ConnState so).
type Conn struct {
	net.Conn
	head    *HeadConn
	reached func(name string)
	release func()
	closed  atomic.Bool

	mu sync.Mutex
	// state is the connection's as the server last set it, and deadlines the read
	// deadlines set since: which timeout a read that times out was bounded by
	// (readLimit).
	state     http.ConnState
	deadlines int
	// counted: a read timeout was counted since the state was set (the server reads
	// again after one before it closes the connection).
	counted bool
	// writeDeadline: a write deadline is set (the write timeout, or a stream's next
	// write's, which is as long) and no timeout has counted it yet.
	writeDeadline bool
}

// NewConn wraps c, a connection a server accepted, holding heads to maxHeader bytes.
// reached is called with the name of each limit the connection reaches
// (LimitHeaderBytes, LimitReadHeaderTimeout, LimitIdleTimeout, LimitWriteTimeout);
// release once, when it is closed.
func NewConn(c net.Conn, maxHeader int, reached func(name string), release func()) *Conn {
	head := NewHeadConn(c, maxHeader, func() { reached(LimitHeaderBytes) })
	return &Conn{Conn: head, head: head, reached: reached, release: release}
}

// SetState notes the server's state of the connection (http.Server.ConnState).
func (c *Conn) SetState(st http.ConnState) {
	c.head.SetState(st)
	c.mu.Lock()
	c.state, c.deadlines, c.counted = st, 0, false
	c.mu.Unlock()
}

// readLimit is the timeout a read that timed out was bounded by, from the read
// deadlines net/http set since the connection's state changed, in the order its
// server sets them: on a new connection the header timeout, then the whole request's;
// on a kept-alive one the idle timeout (until the next request's first bytes), then
// the header timeout, then the whole request's. The whole request's bounds reading the
// body, which the handler reading it counts (the console does); and once a request is
// handled (active), net/http's own reads, which it interrupts with a past deadline, are
// no timeout's. "" for those, and once one was counted in the state.
func (c *Conn) readLimit() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counted {
		return ""
	}
	c.counted = true
	switch {
	case c.state == http.StateNew && c.deadlines <= 1, c.state == http.StateIdle && c.deadlines == 2:
		return LimitReadHeaderTimeout
	case c.state == http.StateIdle && c.deadlines <= 1:
		return LimitIdleTimeout
	}
	return ""
}

// SetReadDeadline counts the read deadlines set in the connection's state (readLimit).
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadlines++
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline notes a write deadline: net/http's write timeout, or a stream's
// next write's, which is as long (console.Config.StreamWriteTimeout).
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeDeadline = !t.IsZero() && time.Until(t) > 0
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if timedOut(err) {
		if name := c.readLimit(); name != "" {
			c.reached(name)
		}
	}
	return n, err
}

func timedOut(err error) bool { return err != nil && errors.Is(err, os.ErrDeadlineExceeded) }

func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if timedOut(err) {
		c.mu.Lock()
		counted := c.writeDeadline
		c.writeDeadline = false // once per deadline
		c.mu.Unlock()
		if counted {
			c.reached(LimitWriteTimeout)
		}
	}
	return n, err
}

// CloseWrite half-closes a TCP connection: net/http does it before closing after an
// answer that ends the connection (a 431, a 413), so that the client reads the whole
// answer rather than a reset.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *Conn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.release()
	}
	return err
}
