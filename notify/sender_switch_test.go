package notify

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestDeliverSwitchingProtocolsTimesOut: a receiver answers 101 Switching Protocols
// and then says nothing, holding the connection. The doc's timeout covers "the
// answer's headers and its body", and a canceled ctx ends a Deliver: either must end
// this one. The Sender reads the "failed answer's" body with io.ReadAll; for a 101 the
// transport hands back the raw connection as the body, which neither the attempt's
// timeout nor ctx interrupts, so Deliver blocks for as long as the receiver likes.
func TestDeliverSwitchingProtocolsTimesOut(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				req.Body.Close()
				c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"))
				select { // hold the connection, silent
				case <-release:
				case <-time.After(time.Minute):
				}
			}()
		}
	}()
	defer func() { close(release); l.Close(); wg.Wait() }()

	s := newSender(t, testConfig()) // 300ms per attempt, 3 attempts
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan Outcome, 1)
	go func() {
		done <- s.Deliver(ctx, Target{Name: "x", Type: TypeWebhook, URL: "http://" + l.Addr().String() + secretPath, Secret: testSecret}, testAlert())
	}()
	select {
	case out := <-done:
		t.Logf("outcome: %+v", out)
	case <-time.After(5 * time.Second):
		t.Errorf("Deliver still running 5s after it began: its 300ms attempt timeout and its ctx (canceled at 2s) did not end it")
		close(release) // let it end, so that no goroutine outlives the test
		release = make(chan struct{})
		t.Logf("outcome once the receiver let go: %+v", <-done)
	}
}
