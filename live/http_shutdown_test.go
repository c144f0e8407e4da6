package live_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/live"
	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestShutdownWithASlowBodyInFlight: a client is sending a console request's body
// slowly (well within --http-read-timeout) when the daemon is told to stop. The
// daemon must stop cleanly (Wait nil: nothing went wrong but a client being slow) and
// must not leave that connection open behind it.
func TestShutdownWithASlowBodyInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the HTTP shutdown grace (5 s): make test runs it")
	}
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	d, cancel := livetest.StartLive(t, b, func(c *live.Config) {
		c.HTTPReadTimeout = time.Minute // the body may take its time
	})
	addr := d.HTTPAddr()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/console/validate HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"rule\":", addr)
	time.Sleep(300 * time.Millisecond) // the handler is reading the body

	start := time.Now()
	cancel()
	select {
	case <-d.Done():
	case <-time.After(25 * time.Second):
		t.Fatal("the daemon did not stop within 25s")
	}
	if err := d.Wait(); err != nil {
		t.Errorf("the daemon stopped after %s with error %v: a slow client made the shutdown fail", time.Since(start).Round(time.Millisecond), err)
	}
	// The server's side of the connection is closed once the daemon has stopped.
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = io.Copy(io.Discard, bufio.NewReader(c))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the daemon stopped, but the connection with a request in flight is still open")
	}
}
