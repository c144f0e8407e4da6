package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
)

// The side servers (`hindsight notify --http`, `hindsight archive --metrics-addr`)
// serve the latest alerts, with their customers and context, and /metrics on a loopback
// address by default. A request addressed to another site's name (a page of that site
// whose name was re-pointed at 127.0.0.1: DNS rebinding) is refused as hindsight live
// refuses it (README.md, "Exposing Hindsight": 403); one addressed to the listener, or
// to a host of --allowed-hosts, is served.
func TestSideServersRefuseForeignHost(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	for _, tc := range []struct {
		args  []string
		log   string
		paths []string
	}{
		{[]string{"notify", "--brokers", b.Addr, "--http", "127.0.0.1:0", "--allowed-hosts", "alerts.example"},
			`msg="notify http listening" addr=(\S+)`, []string{"/v1/notify/alerts", "/metrics"}},
		{[]string{"archive", "--brokers", b.Addr, "--lake", "file://" + t.TempDir(), "--metrics-addr", "127.0.0.1:0", "--allowed-hosts", "alerts.example"},
			`msg="metrics listening" addr=(\S+)`, []string{"/metrics"}},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			_, lines := startBinary(t, tc.args...)
			var logged []string
			addr := waitLine(t, lines, regexp.MustCompile(tc.log), &logged)
			_, port, _ := net.SplitHostPort(addr)
			for _, path := range tc.paths {
				for host, want := range map[string]int{
					addr:                              http.StatusOK,
					"localhost:" + port:               http.StatusOK,
					"alerts.example:" + port:          http.StatusOK,
					"rebind.attacker.example:" + port: http.StatusForbidden,
				} {
					if code, body := getWithHost(t, addr, path, host); code != want {
						t.Errorf("GET %s with Host %s: %d %.120q, want %d", path, host, code, body, want)
					}
				}
			}
		})
	}
}

// getWithHost GETs path from addr with the Host header host.
func getWithHost(t *testing.T, addr, path, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestNotifyHTTPSlowBodyNeitherHeldNorFailsShutdown: a client of `hindsight notify`'s
// HTTP server (/metrics, /v1/notify/alerts) sends a request whose body stops coming.
// The server must not hold that connection for ever (hindsight live closes it at
// --http-read-timeout, 30s by default), and when the process is told to stop it must
// stop cleanly (exit 0), not fail with "context deadline exceeded" because of one
// stalled client.
func TestNotifyHTTPSlowBodyNeitherHeldNorFailsShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the HTTP shutdown grace (6 s): make test runs it")
	}
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- execute(ctx, newRootCmd(), []string{"notify", "--brokers", b.Addr, "--http", addr, "--log-level", "error"})
	}()
	poll.Until(t, 30*time.Second, "notify to serve HTTP", func() bool {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /v1/notify/alerts HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n\r\n{", addr)
	br := bufio.NewReader(c)
	// The rest of the body never comes. A pause, not a wait: the stop must find the
	// request past its headers, in its handler reading the body (an idle connection is
	// closed at once), and nothing the notify process exposes shows a request in
	// progress (no in-flight count), so time is given for the server to get there.
	time.Sleep(time.Second)

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("notify stopped after %s with %v: one stalled client made the shutdown fail (exit status 1)", time.Since(start).Round(time.Millisecond), err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("notify did not stop within 30s")
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.Copy(io.Discard, br); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("notify stopped, but the stalled connection is still open")
	}
}
