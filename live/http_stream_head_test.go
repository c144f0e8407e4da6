package live_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/hindsightdev/hindsight/live"
)

// TestHeadOfTheStreamHoldsNoStream: live/API.md says every endpoint takes GET and
// HEAD, and net/http routes HEAD /v1/console/stream to the stream's handler, which
// answers the headers of an event stream (a HEAD answer has no body, so the client
// has its whole answer) and then keeps running: net/http swallows what it writes for a
// HEAD, so no write ever fails and each write extends the deadline. The handler holds
// one of --http-max-streams (and the connection, whose next request is never
// answered) for as long as the client keeps the connection open. With
// --http-max-streams 1, one answered HEAD makes the page's GET of the stream 503 "too
// many live streams".
func TestHeadOfTheStreamHoldsNoStream(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) { c.HTTPMaxStreams = 1 })
	c, err := net.Dial("tcp", d.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("HEAD /v1/console/stream HTTP/1.1\r\nHost: " + d.HTTPAddr() + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	head, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "HEAD"})
	if err != nil {
		t.Fatalf("HEAD /v1/console/stream: %v", err)
	}
	head.Body.Close()

	// The HEAD is answered, whole: no stream is open, so the page's stream opens.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", d.base+"/v1/console/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/console/stream after HEAD /v1/console/stream was answered %d: %d, want 200 (the HEAD's handler still holds the one stream of --http-max-streams)",
			head.StatusCode, resp.StatusCode)
	}
}
