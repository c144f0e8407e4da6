package live_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/live"
)

// TestHTTPConnectionCap: with every connection slot held by idle connections, a new
// request waits (the server counts that it reached the cap) and is answered as soon as
// a slot frees; the cap and the open connections show in /metrics.
func TestHTTPConnectionCap(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPMaxConnections, c.HTTPMaxStreams = 4, 2
		c.HTTPReadHeaderTimeout = time.Minute // the idle connections hold their slots
	})
	addr := d.HTTPAddr()
	var held []net.Conn
	for range 4 {
		held = append(held, dialHTTP(t, addr, ""))
	}
	poll.Until(t, wait, "the server to hold 4 connections", func() bool {
		return d.metric(t, "hindsight_http_connections_open") == 4
	})
	poll.Until(t, wait, "the cap to be counted as reached", func() bool {
		return d.reached(t, "http_max_connections") >= 1
	})

	type answer struct {
		code int
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		cl := &http.Client{Timeout: 60 * time.Second}
		resp, err := cl.Get(d.base + "/healthz")
		if err != nil {
			done <- answer{err: err}
			return
		}
		resp.Body.Close()
		done <- answer{code: resp.StatusCode}
	}()
	// The slots are held for a minute: nothing can have answered the request.
	select {
	case a := <-done:
		t.Fatalf("a request was answered (%d, %v) while every connection slot was held", a.code, a.err)
	default:
	}
	if open := d.metric(t, "hindsight_http_connections_open"); open != 4 {
		t.Fatalf("%v connections open, want the cap, 4", open)
	}
	held[0].Close() // frees a slot
	select {
	case a := <-done:
		if a.err != nil || a.code != 200 {
			t.Fatalf("once a slot was free: %d %v, want 200", a.code, a.err)
		}
	case <-time.After(wait):
		t.Fatal("the waiting request was not answered once a slot was free")
	}

	_, metrics := d.request(t, "GET", "/metrics", "", nil)
	for _, want := range []string{`hindsight_limit{name="http_max_connections"} 4`, `hindsight_limit{name="http_max_streams"} 2`,
		`hindsight_limit{name="http_read_header_timeout_seconds"} 60`, `hindsight_limit{name="counts_page_size"} 1000`,
		`hindsight_limit{name="http_max_body_bytes"} 1.048576e+06`, `hindsight_limit_reached_total{name="http_max_connections"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// dialHTTP opens a connection to addr and writes text on it as it is: for what
// http.Client would not send (idle connections, headers that never end, a body that
// stops). The connection is closed when t ends.
func dialHTTP(t *testing.T, addr, text string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, text); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHTTPTimeouts: the server closes a keep-alive connection left idle, a request
// whose headers never end, and answers 408 to a body that stops arriving.
func TestHTTPTimeouts(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPIdleTimeout = 200 * time.Millisecond
		c.HTTPReadHeaderTimeout = 200 * time.Millisecond
		c.HTTPReadTimeout = 300 * time.Millisecond
		c.HTTPWriteTimeout = 5 * time.Second
		c.PreviewTimeout = time.Second
	})
	addr := d.HTTPAddr()
	// closedByServer reads c until the server closes it; the client's own deadline, far
	// beyond the server's timeouts, only keeps a failing test from hanging.
	closedByServer := func(t *testing.T, c net.Conn, br *bufio.Reader) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.Copy(io.Discard, br)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the server kept the connection open")
		}
	}

	t.Run("idle keep-alive", func(t *testing.T) {
		c := dialHTTP(t, addr, fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("first request: %d, close %v", resp.StatusCode, resp.Close)
		}
		closedByServer(t, c, br) // no second request comes
	})
	t.Run("headers that never end", func(t *testing.T) {
		c := dialHTTP(t, addr, fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr))
		closedByServer(t, c, bufio.NewReader(c))
	})
	t.Run("a body that stops arriving", func(t *testing.T) {
		c := dialHTTP(t, addr, fmt.Sprintf("POST /v1/console/validate HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"rule\":", addr))
		br := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "--http-read-timeout") {
			t.Fatalf("%d %s, want 408 naming --http-read-timeout", resp.StatusCode, body)
		}
		if n := d.reached(t, "http_read_timeout_seconds"); n != 1 {
			t.Errorf("read timeout reached %v times, want 1", n)
		}
	})
}

// TestHTTPHeaderAndBodyCaps: headers over the cap get 431, bodies over it 413 — whether
// the request says its length or not — with the limit counted each time.
func TestHTTPHeaderAndBodyCaps(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPMaxHeaderBytes = 4096
		c.HTTPMaxBodyBytes = 1024
	})
	resp, _ := d.request(t, "GET", "/healthz", "", func(r *http.Request) { r.Header.Set("X-Big", strings.Repeat("a", 20<<10)) })
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("20 KiB of headers over a 4 KiB cap: %d, want 431", resp.StatusCode)
	}
	if n := d.reached(t, "http_max_header_bytes"); n != 1 {
		t.Errorf("header cap reached %v times, want 1", n)
	}
	if resp, _ := d.request(t, "GET", "/healthz", "", func(r *http.Request) { r.Header.Set("X-Small", strings.Repeat("a", 1000)) }); resp.StatusCode != 200 {
		t.Errorf("headers under the cap: %d", resp.StatusCode)
	}

	small := `{"rule":{"id":"r","scope":"*","when":{"path":"$.type"},"threshold":1}}`
	big := `{"rule":{"id":"r","scope":"*","when":{"path":"$.type"},"threshold":1,"description":"` + strings.Repeat("x", 2000) + `"}}`
	if resp, body := d.request(t, "POST", "/v1/console/validate", small, nil); resp.StatusCode != 200 {
		t.Fatalf("a body under the cap: %d %s", resp.StatusCode, body)
	}
	resp, body := d.request(t, "POST", "/v1/console/validate", big, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "--http-max-body-bytes") || !strings.Contains(body, "1024") {
		t.Errorf("a body over the cap, with its length: %d %s", resp.StatusCode, body)
	}
	// Without Content-Length (chunked), the cap cuts the body as it is read.
	resp, body = d.request(t, "POST", "/v1/console/validate", "", func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(big))
		r.ContentLength = -1
		r.Header.Set("Content-Type", "application/json")
	})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "over the limit of 1024 bytes") {
		t.Errorf("a chunked body over the cap: %d %s", resp.StatusCode, body)
	}
	if n := d.reached(t, "http_max_body_bytes"); n != 2 {
		t.Errorf("body cap reached %v times, want 2", n)
	}
}

// TestMuteBodyOverTheCap: a mute posted without Content-Length (chunked) and over
// --http-max-body-bytes is 413 naming the flag, as every other console body is
// (console/API.md); it was 400, the cap's error taken for bad JSON. A mute with more
// after it is 400.
func TestMuteBodyOverTheCap(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) { c.HTTPMaxBodyBytes = 1024 })
	big := `{"id":"deploy","scope":"c-042","rule":"*","for":"2h","reason":"` + strings.Repeat("x", 4000) + `","by":"ana"}`
	resp, body := d.request(t, "POST", "/v1/console/mutes", "", func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(big))
		r.ContentLength = -1
		r.Header.Set("Content-Type", "application/json")
	})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "--http-max-body-bytes") {
		t.Errorf("a chunked mute body over the 1024-byte cap: %d %s, want 413 naming --http-max-body-bytes", resp.StatusCode, body)
	}
	resp, body = d.request(t, "POST", "/v1/console/mutes", `{"id":"deploy","scope":"c-042","rule":"*","for":"2h","reason":"r","by":"ana"} {"id":"x"}`, func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
	})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "more follows") {
		t.Errorf("a mute with more after it: %d %s, want 400", resp.StatusCode, body)
	}
}

// TestHTTPUnknownEndpoints: under /v1/, a path the API lacks is 404 and a known path
// asked with another method 405, each in JSON as every error answer is (live/API.md);
// they were the console's plain-text 404. The console's own /v1/console/ paths answer
// as before.
func TestHTTPUnknownEndpoints(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, nil)
	for _, tc := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/v1/nope", http.StatusNotFound, `"error":"no endpoint /v1/nope`},
		{"POST", "/v1/rules", http.StatusMethodNotAllowed, `"error":"/v1/rules takes GET, not POST"`},
		{"DELETE", "/v1/counts", http.StatusMethodNotAllowed, `takes GET`},
		{"GET", "/v1/rules", http.StatusOK, `"rules":`},
		{"GET", "/v1/console/rules", http.StatusOK, `"rules":`},
	} {
		resp, body := d.request(t, tc.method, tc.path, "", nil)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d %s %q, want %d with %s in JSON", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.code, tc.want)
		}
	}
}

// TestHTTPTimeoutsReachedAreCounted: README.md, "Limits": every limit's value shows in
// /metrics as hindsight_limit{name} and each time it is reached
// hindsight_limit_reached_total{name} grows. A request whose headers never end is
// closed at the read-header timeout, an answer past the write timeout is cut off, a
// keep-alive connection idle past the idle timeout is closed: net/http tells no handler,
// and these were never counted.
func TestHTTPTimeoutsReachedAreCounted(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out the HTTP timeouts (2 s): make test runs it")
	}
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPReadHeaderTimeout = 200 * time.Millisecond
		c.HTTPReadTimeout = 30 * time.Second
		c.HTTPWriteTimeout = time.Second
		c.HTTPIdleTimeout = 300 * time.Millisecond
		c.PreviewTimeout = 500 * time.Millisecond
	})
	addr := d.HTTPAddr()
	closedByServer := func(t *testing.T, c interface{ SetReadDeadline(time.Time) error }, br *bufio.Reader) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := io.Copy(io.Discard, br)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the server kept the connection open")
		}
	}

	// Headers that never end: closed after the read-header timeout.
	c := dialHTTP(t, addr, fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr))
	closedByServer(t, c, bufio.NewReader(c))

	// A console validate whose body takes 1.5s (well inside the 30s read timeout): the
	// answer is written past the 1s write timeout, and cut off.
	body := `{"rule":{"id":"x","scope":"*","when":{"path":"$.type","op":"exists"},"threshold":1}}`
	c2 := dialHTTP(t, addr, fmt.Sprintf("POST /v1/console/validate HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, len(body), body[:10]))
	// A timer is the scenario: net/http sets the write deadline once the headers are
	// read, so only time passing puts the answer past it; the counter below is what
	// the test checks.
	time.Sleep(1500 * time.Millisecond)
	if _, err := io.WriteString(c2, body[10:]); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c2)
	_ = c2.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err == nil {
		resp.Body.Close()
		t.Logf("validate answered %d", resp.StatusCode)
	} else {
		t.Logf("validate got no answer: %v", err)
	}

	// A keep-alive connection that waits past the idle timeout for its next request.
	c3 := dialHTTP(t, addr, fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr))
	br3 := bufio.NewReader(c3)
	if resp, err := http.ReadResponse(br3, nil); err != nil {
		t.Fatal(err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	closedByServer(t, c3, br3)

	// The server counts a timeout as the read or write it ends returns, before it
	// closes the connection, so each count should be in by now; the poll only bounds
	// a slow scheduler, and the assertions below say which is missing.
	timeouts := []string{"http_read_header_timeout_seconds", "http_write_timeout_seconds", "http_idle_timeout_seconds"}
	poll.Within(10*time.Second, func() bool {
		for _, name := range timeouts {
			if d.reached(t, name) < 1 {
				return false
			}
		}
		return true
	})
	for _, name := range timeouts {
		if n := d.reached(t, name); n < 1 {
			t.Errorf("hindsight_limit_reached_total{name=%q} = %v after the limit was reached, want ≥ 1 (hindsight_limit = %v)",
				name, n, d.metric(t, "hindsight_limit", "name", name))
		}
	}
}

// TestSlowBodyIsNoReadHeaderTimeout: a request whose headers end well inside
// --http-read-header-timeout, and whose body then stops coming, reaches the read
// timeout (counted by the console, which answers 408), not the read-header timeout.
// The whole request's deadline, set once the headers were read, was taken for the
// header timeout when its time left was near that one's length; timeouts are now told
// by what the connection was waiting for.
func TestSlowBodyIsNoReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("sends a body slowly (2 s): make test runs it")
	}
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPReadHeaderTimeout = time.Second
		c.HTTPReadTimeout = 1500 * time.Millisecond
		c.HTTPWriteTimeout = 5 * time.Second
		c.PreviewTimeout = time.Second
	})
	addr := d.HTTPAddr()
	body := `{"rule":{"id":"x","scope":"*","when":{"path":"$.type","op":"exists"},"threshold":1}}`
	c := dialHTTP(t, addr, fmt.Sprintf("POST /v1/console/validate HTTP/1.1\r\nHost: %s\r\n", addr))
	// The headers end 0.3s in, well inside the 1s bound (a classification of deadlines
	// by their distance from now took the whole request's for the header timeout's when
	// the headers took about 0.5s). A timer is the scenario: headers that take a while.
	time.Sleep(300 * time.Millisecond)
	if _, err := io.WriteString(c, fmt.Sprintf("Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])); err != nil {
		t.Fatal(err)
	}
	// The rest of the body never comes.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("answered %d, want 408", resp.StatusCode)
	}
	header, read, _ := readTimeoutsReached(t, d, br)
	if header != 0 || read != 1 {
		t.Errorf("hindsight_limit_reached_total: read header timeout %v, read timeout %v; want 0 and 1 (the headers were read in time, the body was not)", header, read)
	}
}

// TestHeaderTimeoutCountedWhenAsLongAsReadTimeout: headers that never end reach the
// read-header timeout, also when --http-read-header-timeout equals --http-read-timeout
// (net/http then sets one deadline for both; it was taken for the read timeout).
func TestHeaderTimeoutCountedWhenAsLongAsReadTimeout(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPReadHeaderTimeout = time.Second
		c.HTTPReadTimeout = time.Second
		c.HTTPWriteTimeout = 5 * time.Second
		c.PreviewTimeout = time.Second
	})
	addr := d.HTTPAddr()
	c := dialHTTP(t, addr, fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	_, _ = io.Copy(io.Discard, br) // until the server closes it
	if n, _, _ := readTimeoutsReached(t, d, br); n != 1 {
		t.Errorf("hindsight_limit_reached_total{name=http_read_header_timeout_seconds} = %v after headers that never ended, want 1", n)
	}
}

// TestSlowBodyIsNoIdleTimeoutWhenAsLongAsReadTimeout: a request whose headers come at
// once and whose body then stops reaches the read timeout only. With
// --http-idle-timeout as long as --http-read-timeout, the whole request's deadline was
// taken for the idle timeout's and counted as one too.
func TestSlowBodyIsNoIdleTimeoutWhenAsLongAsReadTimeout(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("sends a body slowly (2 s): make test runs it")
	}
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPReadHeaderTimeout = time.Second
		c.HTTPReadTimeout = 1500 * time.Millisecond
		c.HTTPIdleTimeout = 1500 * time.Millisecond
		c.HTTPWriteTimeout = 5 * time.Second
		c.PreviewTimeout = time.Second
	})
	addr := d.HTTPAddr()
	body := `{"rule":{"id":"x","scope":"*","when":{"path":"$.type","op":"exists"},"threshold":1}}`
	c := dialHTTP(t, addr, fmt.Sprintf("POST /v1/console/validate HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, len(body), body[:10])) // the rest of the body never comes
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("answered %d, want 408", resp.StatusCode)
	}
	header, read, idle := readTimeoutsReached(t, d, br)
	if header != 0 || read != 1 || idle != 0 {
		t.Errorf("hindsight_limit_reached_total: read header timeout %v, read timeout %v, idle timeout %v; want 0, 1, 0 (only the body was late, and no connection waited idle)", header, read, idle)
	}
}

// TestPipelinedRequestWhoseHeadersStallIsHeaderTimeout: a client sends a request and,
// in the same write, the beginning of its next one (HTTP/1.1 pipelining), whose
// headers then never end. That is the header timeout reached, not the idle timeout:
// the next request's first bytes were read with the first, and a count of bytes read
// since the connection went idle took the stall for an idle one.
func TestPipelinedRequestWhoseHeadersStallIsHeaderTimeout(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPReadHeaderTimeout = 300 * time.Millisecond
		c.HTTPReadTimeout = 10 * time.Second
		c.HTTPIdleTimeout = time.Minute
		c.HTTPWriteTimeout = 10 * time.Second
		c.PreviewTimeout = time.Second
	})
	addr := d.HTTPAddr()
	c := dialHTTP(t, addr, fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\nGET /healthz HTTP/1.1\r\nHost: %s\r\n", addr, addr))
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to the first request: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if _, err := io.Copy(io.Discard, br); err != nil { // until the server closes
		t.Fatalf("the server did not close the connection: %v", err)
	}
	header, _, idle := readTimeoutsReached(t, d, br)
	if header != 1 || idle != 0 {
		t.Errorf("hindsight_limit_reached_total: read header timeout %v, idle timeout %v; want 1, 0 (the second request's headers stalled; the 1m idle timeout never passed)", header, idle)
	}
}

// TestKeptAliveConnectionClosedIdleAfterAByteIsIdleTimeout: after a first request, a
// kept-alive connection gets one byte of its next request and nothing more. net/http
// waits for the next request's first four bytes under the idle timeout, and closes the
// connection when it passes: the idle timeout reached, not the header timeout, which
// was never set (a count of bytes read took it for one).
func TestKeptAliveConnectionClosedIdleAfterAByteIsIdleTimeout(t *testing.T) {
	t.Parallel()
	d := startHTTPDaemon(t, 1, func(c *live.Config) {
		c.HTTPReadHeaderTimeout = time.Minute
		c.HTTPReadTimeout = 2 * time.Minute
		c.HTTPIdleTimeout = 300 * time.Millisecond
		c.HTTPWriteTimeout = 10 * time.Second
		c.PreviewTimeout = time.Second
	})
	addr := d.HTTPAddr()
	c := dialHTTP(t, addr, fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr))
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to the first request: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if _, err := io.WriteString(c, "G"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil { // until the server closes
		t.Fatalf("the server did not close the connection: %v", err)
	}
	header, _, idle := readTimeoutsReached(t, d, br)
	if header != 0 || idle != 1 {
		t.Errorf("hindsight_limit_reached_total: read header timeout %v, idle timeout %v; want 0, 1 (the connection was closed by the 300ms idle timeout; the 1m header timeout never passed)", header, idle)
	}
}

// readTimeoutsReached is how often the read-header, read and idle timeouts were
// counted reached, once the server has closed the connection br reads, which reached
// one: it counts a timeout as the read it ends returns, and net/http closes the
// connection only after its last read (an answer, a 408, is written before the reads
// that discard the rest of its request), so every count the connection makes is in
// by then.
func readTimeoutsReached(t *testing.T, d *httpDaemon, br *bufio.Reader) (header, read, idle float64) {
	t.Helper()
	if _, err := io.Copy(io.Discard, br); err != nil { // the caller set a read deadline
		t.Fatalf("the server did not close the connection that reached a timeout: %v", err)
	}
	return d.reached(t, "http_read_header_timeout_seconds"), d.reached(t, "http_read_timeout_seconds"), d.reached(t, "http_idle_timeout_seconds")
}
