package httpguard_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/internal/httpguard"
	"github.com/hindsightdev/hindsight/internal/promtest"
)

// headOf is a GET of /hello for addr whose head (request line, headers, the empty line)
// is n bytes, padded in an X-Pad header.
func headOf(t *testing.T, addr string, n int) string {
	t.Helper()
	base := "GET /hello HTTP/1.1\r\nHost: " + addr + "\r\nX-Pad: \r\n\r\n"
	if n < len(base) {
		t.Fatalf("a head of %d bytes is shorter than %d", n, len(base))
	}
	return strings.Replace(base, "X-Pad: ", "X-Pad: "+strings.Repeat("a", n-len(base)), 1)
}

// send writes raw on a new connection and reads the answers of its requests.
func send(t *testing.T, addr, raw string, answers int) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []*http.Response
	for range answers {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading an answer: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
	}
	return out
}

// errorOf is the {"error": …} of resp, "" when it is not one in JSON.
func errorOf(resp *http.Response) string {
	var e contract.ErrorResponse
	body, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error
}

// secure says whether resp carries the security headers of every answer.
func secure(resp *http.Response) bool {
	return resp.Header.Get("X-Frame-Options") == "DENY" && resp.Header.Get("X-Content-Type-Options") == "nosniff" &&
		resp.Header.Get("Referrer-Policy") == "no-referrer" && resp.Header.Get("Content-Security-Policy") == "default-src 'none'; frame-ancestors 'none'"
}

// TestHeadCapAnswerNamesTheFlag: a head far over the cap (past net/http's own, too)
// is answered 431 in JSON naming the flag, with the security headers, counted once.
func TestHeadCapAnswerNamesTheFlag(t *testing.T) {
	t.Parallel()
	const max = 1024
	addr, reg, _ := serve(t, httpguard.Limits{MaxHeaderBytes: max})
	resp := send(t, addr, headOf(t, addr, 3*max+8192), 1)[0]
	if msg := errorOf(resp); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(msg, httpguard.HeaderBytesFlag) || !secure(resp) {
		t.Errorf("a head over the cap: %d %q %v; want 431 in JSON naming %s with the security headers", resp.StatusCode, msg, resp.Header, httpguard.HeaderBytesFlag)
	}
	if v := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", httpguard.LimitHeaderBytes); v != 1 {
		t.Errorf("%s reached %v times, want 1", httpguard.LimitHeaderBytes, v)
	}
}

// TestHeadCapIsExact: a head of exactly --http-max-header-bytes is served and one byte
// more is 431 in JSON naming the flag, with the security headers, counted; net/http's
// own MaxHeaderBytes let 4096 bytes more through.
func TestHeadCapIsExact(t *testing.T) {
	t.Parallel()
	const max = 1024
	addr, reg, _ := serve(t, httpguard.Limits{MaxHeaderBytes: max})
	if resp := send(t, addr, headOf(t, addr, max), 1)[0]; resp.StatusCode != http.StatusOK {
		t.Errorf("a head of exactly %d bytes: %d, want 200", max, resp.StatusCode)
	}
	for _, n := range []int{max + 1, max + 4096} {
		resp := send(t, addr, headOf(t, addr, n), 1)[0]
		if msg := errorOf(resp); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(msg, httpguard.HeaderBytesFlag) || !secure(resp) {
			t.Errorf("a head of %d bytes over a cap of %d: %d %q %v; want 431 in JSON naming %s with the security headers", n, max, resp.StatusCode, msg, resp.Header, httpguard.HeaderBytesFlag)
		}
	}
	if v := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", httpguard.LimitHeaderBytes); v != 2 {
		t.Errorf("%s reached %v times, want 2", httpguard.LimitHeaderBytes, v)
	}
}

// TestHeadCapCountsEachHeadAlone: the cap holds each request's head, not a kept-alive
// connection's bytes nor a body read with its head.
func TestHeadCapCountsEachHeadAlone(t *testing.T) {
	t.Parallel()
	const max = 1024
	mux := http.NewServeMux()
	mux.HandleFunc("POST /read", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if n != 4000 {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	addr, _, _ := serveMux(t, httpguard.Limits{MaxHeaderBytes: max}, mux)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 3 { // 3 heads of the cap's size less 10, one after another's answer
		if _, err := io.WriteString(c, headOf(t, addr, max-10)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("request %d of a kept-alive connection: %d, want 200", i, resp.StatusCode)
		}
	}
	head := "POST /read HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: 4000\r\n\r\n"
	if resp := send(t, addr, head+strings.Repeat("b", 4000), 1)[0]; resp.StatusCode != http.StatusOK {
		t.Errorf("a short head with a body of 4000 bytes sent with it: %d, want 200", resp.StatusCode)
	}
}

// TestServersOwnRefusalsAnswerJSON: what net/http refuses before any handler (a header
// line without a colon, no Host) is answered in JSON with the security headers.
func TestServersOwnRefusalsAnswerJSON(t *testing.T) {
	t.Parallel()
	addr, _, _ := serve(t, httpguard.Limits{})
	for _, raw := range []string{
		"GET /hello HTTP/1.1\r\nHost: " + addr + "\r\nnot a header\r\n\r\n",
		"GET /hello HTTP/1.1\r\n\r\n",
	} {
		resp := send(t, addr, raw, 1)[0]
		if msg := errorOf(resp); resp.StatusCode != http.StatusBadRequest || msg == "" || !secure(resp) {
			t.Errorf("%q: %d %q %v; want 400 in JSON with the security headers", raw, resp.StatusCode, msg, resp.Header)
		}
	}
}
