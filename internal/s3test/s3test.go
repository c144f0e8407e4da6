// Package s3test serves a real S3-protocol endpoint (github.com/johannesboyne/gofakes3,
// in memory) over HTTP on 127.0.0.1 for tests. Clients talk to it with the real AWS SDK
// (through gocloud.dev/blob/s3blob), exactly as they would to S3; nothing is mocked but
// the disks. The server can be stopped and started again on the same port with its
// contents intact, to test how clients ride out an outage.
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

	mu  sync.Mutex
	srv *http.Server
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
	s.serve(ln)
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
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

// Stop closes the listener and every open connection: clients see connection errors
// until Restart. The bucket's contents are kept.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart serves again on the same address after Stop.
func (s *Server) Restart() error {
	var ln net.Listener
	var err error
	// The old socket may linger for a moment after Close.
	for range 50 {
		ln, err = net.Listen("tcp", s.Addr)
		if err == nil {
			s.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("s3test: restart on %s: %w", s.Addr, err)
}

// Close stops the server for good.
func (s *Server) Close() { s.Stop() }
