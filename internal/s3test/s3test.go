// Package s3test serves a real S3-protocol endpoint (github.com/johannesboyne/gofakes3,
// in memory) over HTTP on 127.0.0.1 for tests. Clients talk to it with the real AWS SDK
// (through gocloud.dev/blob/s3blob), exactly as they would to S3; nothing is mocked but
// the disks. The server can be stopped and started again on the same port with its
// contents intact, to test how clients ride out an outage; the port stays held in
// between, so no other process can take it.
package s3test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running fake S3 endpoint.
type Server struct {
	// Addr is host:port of the endpoint.
	Addr string
	// Bucket is the bucket Start created.
	Bucket string

	handler http.Handler
	backend *s3mem.Backend
	ln      net.Listener  // held from start to Close, across Stop and Restart
	done    chan struct{} // closed when the accept loop has returned

	mu   sync.Mutex
	srv  *http.Server
	gate *gate // the serving http.Server's listener; nil while stopped
}

// Start serves a new, empty endpoint with one bucket named bucket (default "lake") on a
// free loopback port and stops it when t ends.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	s, err := StartServer(bucket)
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartServer is Start without a testing.TB; the caller must Close it.
func StartServer(bucket string) (*Server, error) {
	if bucket == "" {
		bucket = "lake"
	}
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		return nil, fmt.Errorf("create bucket %q: %w", bucket, err)
	}
	faker := gofakes3.New(backend, gofakes3.WithTimeSkewLimit(0))
	s := &Server{Bucket: bucket, handler: faker.Server(), backend: backend}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.Addr = ln.Addr().String()
	s.ln, s.done = ln, make(chan struct{})
	go s.accept()
	s.serve()
	return s, nil
}

// accept hands the held port's connections to the serving http.Server, and closes them
// at once while the server is stopped (as a port nobody listens on would refuse them).
func (s *Server) accept() {
	defer close(s.done)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		g := s.gate
		s.mu.Unlock()
		if g == nil || !g.deliver(c) {
			_ = c.Close()
		}
	}
}

func (s *Server) serve() {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	g := &gate{addr: s.ln.Addr(), conns: make(chan net.Conn), closed: make(chan struct{})}
	s.mu.Lock()
	s.srv, s.gate = srv, g
	s.mu.Unlock()
	go func() { _ = srv.Serve(g) }()
}

// URL is the gocloud.dev/blob URL of the bucket: s3:// with the loopback endpoint,
// path-style addressing and anonymous credentials (the fake does not check signatures).
func (s *Server) URL() string {
	q := url.Values{}
	q.Set("endpoint", "http://"+s.Addr)
	q.Set("use_path_style", "true")
	q.Set("region", "us-east-1")
	q.Set("anonymous", "true")
	// The fake sends no checksums; do not let the SDK warn about each response.
	q.Set("response_checksum_validation", "when_required")
	return "s3://" + s.Bucket + "?" + q.Encode()
}

// Stop stops serving and closes every open connection: clients see connection errors
// until Restart. The bucket's contents are kept, and the port stays held.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv, s.gate = nil, nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close() // closes the gate too
	}
}

// Restart serves again on the same address after Stop.
func (s *Server) Restart() error {
	s.mu.Lock()
	serving := s.srv != nil
	s.mu.Unlock()
	select {
	case <-s.done:
		return fmt.Errorf("s3test: restart on %s: the server is closed", s.Addr)
	default:
	}
	if !serving {
		s.serve()
	}
	return nil
}

// Close stops the server for good and releases its port.
func (s *Server) Close() {
	s.Stop()
	_ = s.ln.Close()
	<-s.done
}

// gate is the listener an http.Server serves on: the connections the held port hands
// it, until the http.Server closes it.
type gate struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (g *gate) deliver(c net.Conn) bool {
	select {
	case g.conns <- c:
		return true
	case <-g.closed:
		return false
	}
}

func (g *gate) Accept() (net.Conn, error) {
	select {
	case c := <-g.conns:
		return c, nil
	case <-g.closed:
		return nil, net.ErrClosed
	}
}

func (g *gate) Close() error {
	g.once.Do(func() { close(g.closed) })
	return nil
}

func (g *gate) Addr() net.Addr { return g.addr }
