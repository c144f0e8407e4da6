package kafkatest

import (
	"net"
	"sync"
	"testing"
)

// Port is a loopback port held open for a whole test, so that a broker can be stopped
// and started again on the same address without the port ever being free for another
// process to take in between (closing a listener and listening again on its number
// races with every other program on the machine).
//
// A broker started with Options.Port serves the connections the port accepts; while
// none does (after its Close, before the next Start), connections are accepted and
// closed at once, which clients see as they would a stopped broker.
type Port struct {
	ln   net.Listener
	done chan struct{} // closed when the accept loop has returned

	mu  sync.Mutex
	cur *portListener // the serving broker's listener; nil while none serves
}

// ListenPort holds a port on 127.0.0.1 until t ends.
func ListenPort(t testing.TB) *Port {
	t.Helper()
	p, err := NewPort()
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// NewPort is ListenPort without a testing.TB; the caller must Close it.
func NewPort() (*Port, error) {
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

// Close releases the port. Brokers still serving on it see their listener fail.
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

// listener hands the port to a new broker: connections go to it until it is closed.
func (p *Port) listener() net.Listener {
	l := &portListener{p: p, conns: make(chan net.Conn), closed: make(chan struct{})}
	p.mu.Lock()
	old := p.cur
	p.cur = l
	p.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return l
}

// portListener is one broker's view of a Port. Closing it stops that broker's accepts
// and leaves the port held.
type portListener struct {
	p      *Port
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *portListener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *portListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *portListener) Close() error {
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

func (l *portListener) Addr() net.Addr { return l.p.ln.Addr() }
