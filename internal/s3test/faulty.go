package s3test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// FaultyProxy relays S3 requests over HTTP to a Server, offering each first to a hook
// that may answer it itself: an error of the store's (WriteError), a request held
// until the test lets it go, a write the store took whose answer never came. A fault
// is decided per request, by method and path, where HangingProxy's hang is per
// connection.
type FaultyProxy struct {
	srv *Server
	ln  net.Listener
}

// StartFaultyProxy relays to s until t ends. hook sees every request first, and
// answers it itself by returning true; false relays it.
func (s *Server) StartFaultyProxy(t testing.TB, hook func(w http.ResponseWriter, r *http.Request) bool) *FaultyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("s3test: faulty proxy: %v", err)
	}
	p := &FaultyProxy{srv: s, ln: ln}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hook(w, r) {
			p.relay(w, r)
		}
	})}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return p
}

// URL is the Server's bucket URL with the proxy as its endpoint.
func (p *FaultyProxy) URL() string { return p.srv.urlVia(p.ln.Addr().String()) }

// relay sends r to the server and its answer back.
func (p *FaultyProxy) relay(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.srv.Addr+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// WriteError answers as S3 does when it refuses a request: status, and an XML error
// with code (AccessDenied, SlowDown, InternalError …).
func WriteError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>refused by the test's proxy</Message></Error>`)
}
