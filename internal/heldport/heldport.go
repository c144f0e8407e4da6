// Package heldport holds a loopback port open for a whole test, so that a server can be
// stopped and started again on the same address without the port ever being free for
// another process to take in between (closing a listener and listening again on its
// number races with every other program on the machine). kafkatest's brokers and
// s3test's endpoints restart on one.
//
// The server serves the connections of the listener it was handed (Port.Listener);
// while none is handed out, or after it is closed, connections are accepted and closed
// at once, which clients see as they would a stopped server.
package heldport

import (
	"net"
	"sync"
)

// Port is a held loopback port.
type Port struct {
	ln   net.Listener
	done chan struct{} // closed when the accept loop has returned

	mu  sync.Mutex
	cur *listener // the serving server's listener; nil while none serves
}

// Listen holds a free port on 127.0.0.1 until Close.
func Listen() (*Port, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Port{ln: ln, done: make(chan struct{})}
	go p.accept()
	return p, nil
}

// Addr is host:port of the held port.
func (p *Port) Addr() string { return p.ln.Addr().String() }

// Close releases the port. A server still serving on it sees its listener fail.
func (p *Port) Close() {
	_ = p.ln.Close()
	<-p.done
	p.mu.Lock()
	cur := p.cur
	p.mu.Unlock()
	if cur != nil {
		_ = cur.Close()
	}
}

// Listener hands the port to a new server: connections go to the returned listener
// until it is closed. The listener handed out before, if any, is closed.
func (p *Port) Listener() net.Listener {
	l := &listener{p: p, conns: make(chan net.Conn), closed: make(chan struct{})}
	p.mu.Lock()
	old := p.cur
	p.cur = l
	p.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return l
}

func (p *Port) accept() {
	defer close(p.done)
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cur := p.cur
		p.mu.Unlock()
		if cur == nil || !cur.deliver(c) {
			_ = c.Close()
		}
	}
}

// listener is one server's view of a Port. Closing it stops that server's accepts and
// leaves the port held.
type listener struct {
	p      *Port
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *listener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.p.mu.Lock()
		if l.p.cur == l {
			l.p.cur = nil
		}
		l.p.mu.Unlock()
	})
	return nil
}

func (l *listener) Addr() net.Addr { return l.p.ln.Addr() }
