package s3test

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// HangingProxy relays TCP connections on loopback to a Server. While hung, it answers
// nothing: the bytes a client sends are read and dropped, and a connection that saw
// that stays silent for good (a storage node that took a request and hung, a half-open
// connection), neither closed nor answered. Connections made after the hang ends are
// relayed again. Throttled, it relays the answers slowly, a trickle every 50 ms.
type HangingProxy struct {
	srv  *Server
	ln   net.Listener
	hung atomic.Bool
	rate atomic.Int64 // bytes per second of answers, per connection; 0: as they come

	mu    sync.Mutex
	conns []net.Conn
}

// StartHangingProxy relays to s until t ends, not hung.
func (s *Server) StartHangingProxy(t testing.TB) *HangingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("s3test: proxy: %v", err)
	}
	p := &HangingProxy{srv: s, ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			go p.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	return p
}

// URL is the Server's bucket URL with the proxy as its endpoint.
func (p *HangingProxy) URL() string { return p.srv.urlVia(p.ln.Addr().String()) }

// Hang makes the proxy hang (true) the connections that send it anything from now on,
// or (false) relay new connections again.
func (p *HangingProxy) Hang(hung bool) { p.hung.Store(hung) }

// Throttle relays the answers of each connection at bytesPerSecond (0: as they come).
func (p *HangingProxy) Throttle(bytesPerSecond int64) { p.rate.Store(bytesPerSecond) }

func (p *HangingProxy) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.srv.Addr)
	if err != nil {
		c.Close()
		return
	}
	defer s.Close()
	var silent atomic.Bool
	go func() { // answers, unless the connection went silent
		buf := make([]byte, 32<<10)
		for {
			chunk := buf
			rate := p.rate.Load()
			if rate > 0 {
				chunk = buf[:min(len(buf), max(int(rate/20), 1))]
			}
			n, err := s.Read(chunk)
			if rate > 0 && n > 0 {
				time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
			}
			if n > 0 && !silent.Load() {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if p.hung.Load() {
				silent.Store(true)
			}
			if !silent.Load() {
				if _, werr := s.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}
