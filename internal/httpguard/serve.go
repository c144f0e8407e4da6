package httpguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hindsightdev/hindsight/internal/httpjson"
	"github.com/hindsightdev/hindsight/internal/limitmetric"
)

// Names of the limits: the name label of hindsight_limit and
// hindsight_limit_reached_total. The live daemon's server reports under the same names.
const (
	LimitConnections       = "http_max_connections"
	LimitReadHeaderTimeout = "http_read_header_timeout_seconds"
	LimitReadTimeout       = "http_read_timeout_seconds"
	LimitWriteTimeout      = "http_write_timeout_seconds"
	LimitIdleTimeout       = "http_idle_timeout_seconds"
	LimitHeaderBytes       = "http_max_header_bytes"
)

// Defaults of Limits, which the live daemon's server shares.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxHeaderBytes    = 64 << 10
	// DefaultSideMaxConnections is a side server's: a scraper or two and an operator's
	// curl, not the live daemon's console users.
	DefaultSideMaxConnections = 64
)

// ShutdownGrace is how long a stopping server lets the requests in flight finish
// before it closes their connections: a client that keeps one open (a body trickled,
// an answer never read) does not hold the process.
const ShutdownGrace = 5 * time.Second

// Limits bound a side server. A field at zero or below takes its default.
type Limits struct {
	// AllowedHosts are Host headers accepted besides the listener's own address and
	// loopback names: name (any port), name:port, or "*" (no check). Default none.
	AllowedHosts []string
	// MaxConnections are held at once; more wait in the kernel's accept queue.
	// Default DefaultSideMaxConnections.
	MaxConnections int
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request. Default 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an answer. Default 1m.
	WriteTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection's wait for its next request. Default 2m.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers. Default 64 KiB.
	MaxHeaderBytes int
}

// EnsureDefaults fills the fields at zero or below with their defaults.
func (l *Limits) EnsureDefaults() {
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = DefaultSideMaxConnections
	}
	setDur(&l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDur(&l.ReadTimeout, DefaultReadTimeout)
	setDur(&l.WriteTimeout, DefaultWriteTimeout)
	setDur(&l.IdleTimeout, DefaultIdleTimeout)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
}

// Validate reports malformed allowed hosts.
func (l *Limits) Validate() error { return ValidateAllowed(l.AllowedHosts) }

// Serve serves mux on ln until ctx ends, guarded: security headers on every answer, a
// 403 for a Host not the server's (cfgAddr is the address it was asked to listen on),
// l's connection cap and timeouts, and every refusal in JSON, a path mux does not serve
// (404) or not with the request's method (405) too, and a handler's panic (500,
// Recovered). Its limits show in limits. When ctx ends the
// requests in flight get ShutdownGrace, then their connections are closed; Serve
// returns nil then, or why it could not serve. It closes ln.
func Serve(ctx context.Context, cfgAddr string, ln net.Listener, mux *http.ServeMux, l Limits, limits *limitmetric.Limits, log *slog.Logger) error {
	l.EnsureDefaults()
	limits.ShowCounted(LimitConnections, float64(l.MaxConnections))
	// Conn counts the header, idle and write timeouts; the whole request's read
	// timeout bounds a body, which no side server reads.
	limits.ShowCounted(LimitReadHeaderTimeout, l.ReadHeaderTimeout.Seconds())
	limits.Show(LimitReadTimeout, l.ReadTimeout.Seconds())
	limits.ShowCounted(LimitWriteTimeout, l.WriteTimeout.Seconds())
	limits.ShowCounted(LimitIdleTimeout, l.IdleTimeout.Seconds())
	limits.ShowCounted(LimitHeaderBytes, float64(l.MaxHeaderBytes))
	hosts := NewHosts(cfgAddr, ln.Addr(), l.AllowedHosts)
	srv := &http.Server{Handler: guard(&hosts, Recovered(log, jsonRoutes(mux)))}
	Configure(srv, l, log)
	capped := newCapListener(ln, l.MaxConnections, func() { limits.Reached(LimitConnections) })
	capped.conn = func(c net.Conn, release func()) net.Conn {
		return NewConn(c, l.MaxHeaderBytes, limits.Reached, release)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(capped) }()
	select {
	case err := <-served:
		capped.Close()
		return fmt.Errorf("serving HTTP on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	if err := Stop(srv, log); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving HTTP on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Stop shuts srv down: the requests in flight get ShutdownGrace to finish, then the
// connections still open are closed. A client slow past the grace is logged, not an
// error of the process that stops.
func Stop(srv *http.Server, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("closing HTTP connections whose requests were still in flight after the shutdown grace", "grace", ShutdownGrace)
		err = srv.Close()
	}
	if err != nil {
		return fmt.Errorf("stopping the HTTP server: %w", err)
	}
	return nil
}

// guard sets the security headers on every answer, a refusal too, and refuses a Host
// that is not the server's, then a request for the whole server (RefusedAsterisk).
func guard(hosts *Hosts, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SecurityHeaders(w.Header())
		if !hosts.Allows(r.Host) {
			httpjson.Error(w, http.StatusForbidden, hosts.Refusal(r.Host))
			return
		}
		if RefusedAsterisk(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Slots bound the connections a listener holds: Take waits for a free one before each
// Accept, so that the connections beyond wait in the kernel's accept queue, costing the
// process no file descriptor; a closed connection Gives its slot back.
type Slots struct {
	ch      chan struct{}
	reached func()
}

// NewSlots returns n slots; reached is called each time Take has to wait.
func NewSlots(n int, reached func()) *Slots {
	return &Slots{ch: make(chan struct{}, n), reached: reached}
}

// Take takes a slot, waiting for one until closed is closed (net.ErrClosed).
func (s *Slots) Take(closed <-chan struct{}) error {
	select {
	case s.ch <- struct{}{}:
		return nil
	default:
	}
	s.reached()
	select {
	case s.ch <- struct{}{}:
		return nil
	case <-closed:
		return net.ErrClosed
	}
}

// Give returns a slot Take took.
func (s *Slots) Give() { <-s.ch }

// capListener holds at most its slots' connections, each wrapped by conn, which gives
// the slot back with release.
type capListener struct {
	net.Listener
	conn      func(c net.Conn, release func()) net.Conn
	slots     *Slots
	closed    chan struct{}
	closeOnce sync.Once
}

func newCapListener(ln net.Listener, n int, reached func()) *capListener {
	return &capListener{Listener: ln, slots: NewSlots(n, reached), closed: make(chan struct{})}
}

func (l *capListener) Accept() (net.Conn, error) {
	if err := l.slots.Take(l.closed); err != nil {
		return nil, err
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.slots.Give()
		return nil, err
	}
	return l.conn(c, l.slots.Give), nil
}

func (l *capListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}
