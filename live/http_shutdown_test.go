package live_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
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
	// Expect: 100-continue makes net/http say when the handler first reads the body:
	// the stop then comes while the handler is reading it, not before the request
	// reached it.
	fmt.Fprintf(c, "POST /v1/console/validate HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", addr)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("reading the 100 Continue the handler's first read of the body sends: %q, %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the empty line that ends it
		t.Fatal(err)
	}
	fmt.Fprint(c, `{"rule":`) // and the rest of the body is slow to come

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
	_, err = io.Copy(io.Discard, br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the daemon stopped, but the connection with a request in flight is still open")
	}
}
