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

	"github.com/hindsightdev/hindsight/internal/heldport"
)

// Server is a running fake S3 endpoint.
type Server struct {
	// Addr is host:port of the endpoint.
	Addr string
	// Bucket is the bucket Start created.
	Bucket string

	handler http.Handler
	backend *s3mem.Backend
	port    *heldport.Port // held from start to Close, across Stop and Restart

	mu     sync.Mutex
	srv    *http.Server // nil while stopped
	ln     net.Listener // srv's listener on port
	closed bool         // Close was called
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
	port, err := heldport.Listen()
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{Addr: port.Addr(), Bucket: bucket, handler: faker.Server(), backend: backend, port: port}
	s.serve()
	return s, nil
}

func (s *Server) serve() {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	ln := s.port.Listener()
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// URL is the gocloud.dev/blob URL of the bucket: s3:// with the loopback endpoint,
// path-style addressing and anonymous credentials (the fake does not check signatures).
func (s *Server) URL() string { return s.urlVia(s.Addr) }

// urlVia is URL with the endpoint at addr.
func (s *Server) urlVia(addr string) string {
	q := url.Values{}
	q.Set("endpoint", "http://"+addr)
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
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		_ = ln.Close() // first, so that the port closes new connections at once
		_ = srv.Close()
	}
}

// Restart serves again on the same address after Stop.
func (s *Server) Restart() error {
	s.mu.Lock()
	serving, closed := s.srv != nil, s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("s3test: restart on %s: the server is closed", s.Addr)
	}
	if !serving {
		s.serve()
	}
	return nil
}

// Close stops the server for good and releases its port.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.Stop()
	s.port.Close()
}
