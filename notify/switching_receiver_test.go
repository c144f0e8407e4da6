package notify

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// switchingReceiver is a receiver on loopback that answers every request 101 Switching
// Protocols and then holds the connection, silent, until letGo (or the test's end, or
// a minute): what made a worker wait for ever. requests counts what it was asked.
func switchingReceiver(t testing.TB) (addr string, requests *atomic.Int32, letGo func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	letGo = sync.OnceFunc(func() { close(release) })
	requests = new(atomic.Int32)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				req.Body.Close()
				requests.Add(1)
				c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"))
				select {
				case <-release:
				case <-time.After(time.Minute):
				}
			})
		}
	})
	t.Cleanup(func() { letGo(); l.Close(); wg.Wait() })
	return l.Addr().String(), requests, letGo
}
