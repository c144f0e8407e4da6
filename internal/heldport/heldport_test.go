package heldport

import (
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPortServesAndHolds: a connection reaches the server that holds the listener;
// with no server (before the first, between two) it is accepted and closed at once,
// and nobody else can listen on the port meanwhile.
func TestPortServesAndHolds(t *testing.T) {
	p, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	closedAtOnce := func(when string) {
		t.Helper()
		c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
		if err != nil {
			t.Fatalf("%s: dial refused (%v), want accepted and closed", when, err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("%s: read %d bytes, %v; want EOF", when, n, err)
		}
	}
	closedAtOnce("before any server")
	if ln, err := net.Listen("tcp", p.Addr()); err == nil {
		ln.Close()
		t.Fatal("another listener took the held port")
	}
	for round := range 2 {
		ln := p.Listener()
		served := make(chan string, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				served <- err.Error()
				return
			}
			defer c.Close()
			b := make([]byte, 5)
			_, err = io.ReadFull(c, b)
			served <- string(b)
		}()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("hello"))
		if got := <-served; got != "hello" {
			t.Fatalf("round %d: the server got %q", round, got)
		}
		c.Close()
		ln.Close()
		if _, err := ln.Accept(); err != net.ErrClosed {
			t.Fatalf("round %d: Accept after Close: %v", round, err)
		}
		closedAtOnce("between servers")
	}
}
