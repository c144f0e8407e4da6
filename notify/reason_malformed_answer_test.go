package notify

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestReasonDoesNotQuoteURLFromAMalformedAnswer: docs/notifications.md (Slack):
// "Hindsight never quotes a destination's URL in errors or logs; a receiver's answer
// quoted in a delivery's reason has the destination's URL, its path and each of its
// path's segments … taken out". Only a well-formed failed answer's body goes through
// redact. An answer net/http cannot parse is quoted by net/http's own error, which the
// Reason takes whole (Sender.failure's last case): a receiver that writes Express's
// "Cannot POST /the/path" where a status line or a header belongs, or an echo in a
// header's value, puts the Slack webhook's secret path into the undelivered record,
// the logs and the console.
func TestReasonDoesNotQuoteURLFromAMalformedAnswer(t *testing.T) {
	const token = "XOXBSECRETTOKEN42"
	for name, answer := range map[string]func(path string) string{
		"no status line":        func(p string) string { return "Cannot_POST_" + p + "\r\n\r\n" },
		"a line without colon":  func(p string) string { return "HTTP/1.1 404 Not Found\r\nCannot POST " + p + "\r\n\r\n" },
		"a bad Content-Length":  func(p string) string { return "HTTP/1.1 200 OK\r\nContent-Length: " + p + "\r\n\r\n" },
		"a bad transfer coding": func(p string) string { return "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + p + "\r\n\r\n" },
	} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					req, err := http.ReadRequest(bufio.NewReader(c))
					if err == nil {
						io.Copy(io.Discard, req.Body)
						c.Write([]byte(answer(req.URL.Path)))
					}
					c.Close()
				}
			}()
			out := newSender(t, testConfig()).Deliver(context.Background(),
				Target{Name: "hook", Type: TypeSlack, URL: "http://" + ln.Addr().String() + "/services/T0/B0/" + token}, testAlert())
			ln.Close()
			wg.Wait()
			if out.Delivered || out.Attempts == 0 {
				t.Fatalf("outcome %+v, want undelivered", out)
			}
			if strings.Contains(out.Reason, token) {
				t.Errorf("reason quotes the destination URL's secret path (from the receiver's malformed answer):\n%s", out.Reason)
			}
		})
	}
}
