package notify

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestClosedKeepAliveRequestIsNotReplayedUncounted: docs/notifications.md promises "at
// most 6 attempts" (--notify-max-attempts) and an X-Hindsight-Timestamp "new on every
// attempt". Every request carries an Idempotency-Key header, which net/http's Transport
// takes as leave to replay a POST by itself (Request.isReplayable): when a kept-alive
// connection is closed after the request was written but before an answer, the
// Transport sends the same request again on a new connection, inside one attempt of
// the Sender. The receiver, which had read (and may have acted on) the first copy, gets
// one request more than the attempts counted (Outcome.Attempts, the reason's "after N
// attempts", hindsight_notify_attempts), the extra copy with the same timestamp and
// signature. Here a receiver answers one alert on a connection, then reads the next
// alert's requests and closes without answering: with 3 attempts allowed it sees that
// alert 4 times.
func TestClosedKeepAliveRequestIsNotReplayedUncounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var (
		mu   sync.Mutex
		keys []string
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for range 10 {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					key := req.Header.Get(HeaderIdempotencyKey)
					mu.Lock()
					keys = append(keys, key)
					mu.Unlock()
					if strings.HasPrefix(key, "second") {
						return // read in full, then closed without an answer
					}
					c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
				}
			}()
		}
	}()

	s := newSender(t, testConfig()) // 3 attempts
	url := "http://" + ln.Addr().String() + "/hook"
	first, second := testAlert(), testAlert()
	first.AlertID, second.AlertID = "first", "second"
	if out := s.Deliver(t.Context(), Target{Name: "hook", Type: TypeWebhook, URL: url}, first); !out.Delivered {
		t.Fatalf("first alert: %+v", out)
	}
	out := s.Deliver(t.Context(), Target{Name: "hook", Type: TypeWebhook, URL: url}, second)
	s.Close()
	ln.Close()
	wg.Wait()

	n := 0
	for _, k := range keys {
		if k == IdempotencyKey(second) {
			n++
		}
	}
	if out.Delivered || out.Attempts != 3 {
		t.Fatalf("second alert: %+v; want undelivered after 3 attempts", out)
	}
	if n != out.Attempts {
		t.Errorf("the receiver got the second alert %d times for %d attempts (reason %q): net/http replayed a request on its own, uncounted",
			n, out.Attempts, out.Reason)
	}
}
