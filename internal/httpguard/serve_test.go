package httpguard_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/hindsightdev/hindsight/internal/httpguard"
	"github.com/hindsightdev/hindsight/internal/limitmetric"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
)

// TestMain fails the binary if a goroutine of a server outlives its Serve.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs Serve on a loopback listener with l until the test ends; it returns the
// address, the registry of the limits and Serve's result.
func serve(t *testing.T, l httpguard.Limits) (string, *prometheus.Registry, func() error) {
	return serveMux(t, l, http.NewServeMux())
}

// serveMux is serve with the routes of mux besides GET /hello.
func serveMux(t *testing.T, l httpguard.Limits, mux *http.ServeMux) (string, *prometheus.Registry, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limits := limitmetric.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(limits.Collectors()...)
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "hello") })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpguard.Serve(ctx, "127.0.0.1:0", ln, mux, l, limits, testlog.New(t)) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("Serve did not return within 30s of its context's end")
		}
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String(), reg, stop
}

// A connection past the cap waits, counted, until one held closes; then it is served.
func TestConnectionCapWaitsAndCounts(t *testing.T) {
	t.Parallel()
	addr, reg, _ := serve(t, httpguard.Limits{MaxConnections: 1})
	poll.Until(t, 30*time.Second, "the cap shown", func() bool {
		return promtest.Value(t, reg, "hindsight_limit", "name", httpguard.LimitConnections) == 1
	})
	held, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(held, "GET /hello HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(held), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the first connection's request: %v %v", resp, err)
	}
	resp.Body.Close()
	// The first connection is kept alive: the second waits for its slot.
	answered := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + addr + "/hello")
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	poll.Until(t, 30*time.Second, "the cap reached counted", func() bool {
		return promtest.Value(t, reg, "hindsight_limit_reached_total", "name", httpguard.LimitConnections) == 1
	})
	select {
	case err := <-answered:
		t.Fatalf("a connection past the cap was served while the first was held (err %v)", err)
	default:
	}
	held.Close()
	if err := <-answered; err != nil {
		t.Fatalf("the waiting connection, once a slot was free: %v", err)
	}
}

// A Host that is not the server's gets a 403 that names the check, with the security
// headers every answer carries.
func TestForeignHostRefused(t *testing.T) {
	t.Parallel()
	addr, _, _ := serve(t, httpguard.Limits{})
	req, _ := http.NewRequest("GET", "http://"+addr+"/hello", nil)
	req.Host = "rebind.example:" + addr[strings.LastIndex(addr, ":")+1:]
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("foreign Host: %d, headers %v; want 403 with nosniff and DENY", resp.StatusCode, resp.Header)
	}
}

// A client that stops sending its body does not hold the stop past the grace, nor make
// it an error: its connection is closed.
func TestStopClosesAStalledRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the HTTP shutdown grace (5 s): make test runs it")
	}
	t.Parallel()
	reading := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /read", func(w http.ResponseWriter, r *http.Request) {
		close(reading)
		_, _ = io.ReadAll(r.Body)
	})
	addr, _, stop := serveMux(t, httpguard.Limits{ReadTimeout: time.Hour}, mux)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /read HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n\r\n{", addr)
	<-reading
	if err := stop(); err != nil {
		t.Fatalf("Serve with a stalled request in flight returned %v, want nil", err)
	}
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the stalled connection is still open after Serve returned")
			}
			return
		}
	}
}

// A handler that panics was left to net/http, which logs the panic and drops the
// connection: the client read no answer at all (EOF), not the JSON error body every
// other failure of the API is. It must be a 500 in JSON, and the server serve on.
func TestServePanicIsAnswered500InJSON(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("a handler's bug") })
	addr, _, _ := serveMux(t, httpguard.Limits{}, mux)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/boom")
	if err != nil {
		t.Fatalf("GET /boom: %v; want a 500 answer", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(string(body), `"error":"`) || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /boom: %d %q %q; want 500 with a JSON error body and the security headers", resp.StatusCode, resp.Header, body)
	}
	resp, err = client.Get("http://" + addr + "/hello")
	if err != nil {
		t.Fatalf("GET /hello after the panic: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Errorf("GET /hello after the panic: %d %q", resp.StatusCode, body)
	}
}
