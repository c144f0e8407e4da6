package httpguard

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/hindsightdev/hindsight/internal/httpjson"
)

// Configure gives srv, a server of connections accepted as Conn (the live daemon's,
// Serve's), l's timeouts and header cap and what every guarded server needs of
// net/http: its connections told their state, "OPTIONS *" passed to the handler, and
// its own complaints (accept errors, such as running out of descriptors) logged to log.
// l must have its defaults (EnsureDefaults).
func Configure(srv *http.Server, l Limits, log *slog.Logger) {
	srv.ReadHeaderTimeout = l.ReadHeaderTimeout
	srv.ReadTimeout = l.ReadTimeout
	srv.WriteTimeout = l.WriteTimeout
	srv.IdleTimeout = l.IdleTimeout
	// net/http reads 4096 bytes past this before it refuses: HeadConn holds the heads
	// to the value itself.
	srv.MaxHeaderBytes = l.MaxHeaderBytes
	// Otherwise net/http answers "OPTIONS *" itself, before the handler and so before
	// the guard: 200 without the security headers, whatever the Host.
	srv.DisableGeneralOptionsHandler = true
	// The connections note their state, for the timeout a read that times out counts.
	srv.ConnState = func(nc net.Conn, st http.ConnState) {
		if c, ok := nc.(*Conn); ok {
			c.SetState(st)
		}
	}
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
}

// RefusedAsterisk answers a request for the server as a whole ("OPTIONS *", which
// Configure passes to the handler) and reports whether it did: no endpoint serves one,
// and net/http's ServeMux would answer it 400 with no body, against every error answer
// in JSON. A guard calls it past its Host check, so that such a request is refused
// with the security headers, and for a foreign Host as any other request is.
func RefusedAsterisk(w http.ResponseWriter, r *http.Request) bool {
	if r.RequestURI != "*" {
		return false
	}
	httpjson.Error(w, http.StatusBadRequest, r.Method+" * (a request for the server as a whole) is not served: ask for an endpoint's path")
	return true
}
