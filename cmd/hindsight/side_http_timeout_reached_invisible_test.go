package main

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// Every limit's reaching is visible (README.md, "Limits": each time a request reaches
// one, hindsight_limit_reached_total{name} grows); hindsight live counts a client whose
// head stops coming, closed at --http-read-header-timeout, under
// http_read_header_timeout_seconds (the table: "the connection is closed, and
// counted"). The side servers take the same flag and show its value in the same
// hindsight_limit family: a connection they close for it must be counted too, not
// dropped without a trace.
func TestSideServerHeaderTimeoutReachedIsCounted(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	_, lines := startBinary(t, "notify", "--brokers", b.Addr, "--http", "127.0.0.1:0", "--http-read-header-timeout", "1s")
	var logged []string
	addr := waitLine(t, lines, regexp.MustCompile(`msg="notify http listening" addr=(\S+)`), &logged)

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: "+addr+"\r\n"); err != nil { // the head never ends
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("the server did not close the connection whose head stopped coming: %v", err)
	}

	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var shown, reached string
	for _, l := range strings.Split(string(body), "\n") {
		switch {
		case strings.HasPrefix(l, `hindsight_limit{name="http_read_header_timeout_seconds"}`):
			shown = l
		case strings.HasPrefix(l, `hindsight_limit_reached_total{name="http_read_header_timeout_seconds"}`):
			reached = l
		}
	}
	if shown == "" {
		t.Fatalf("/metrics does not show the header timeout")
	}
	if reached == "" || strings.HasSuffix(reached, " 0") {
		t.Errorf("after a connection was closed at --http-read-header-timeout: %q, %q; want hindsight_limit_reached_total{name=\"http_read_header_timeout_seconds\"} 1", shown, reached)
	}
}
