package httpguard

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/hindsightdev/hindsight/internal/httpjson"
)

// Recovered serves next, answering a panic in it 500 in JSON, as every other failure
// of the API is answered, and logging it with its stack to log. Left to net/http, a
// panic dropped the connection unanswered: the client read EOF, a proxy often a 502,
// neither saying the server failed. When the answer had begun, its status is sent and
// cannot be changed: the connection is aborted (http.ErrAbortHandler), so that the
// client sees a cut answer rather than one that looks whole. A handler that panics
// with http.ErrAbortHandler itself asks for just that, and is not logged.
func Recovered(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &startedWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler { //nolint:errorlint // net/http compares it so
				panic(p)
			}
			log.Error("an HTTP handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if rw.started {
				panic(http.ErrAbortHandler)
			}
			httpjson.Error(w, http.StatusInternalServerError, fmt.Sprintf("the server failed answering %s %s (its log says why)", r.Method, r.URL.Path))
		}()
		next.ServeHTTP(rw, r)
	})
}

// startedWriter notes whether the answer's status was sent. Flush is its own, for a
// handler that asserts http.Flusher (a stream); Unwrap gives http.ResponseController
// the rest (write deadlines).
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (s *startedWriter) WriteHeader(code int) {
	// An informational status (103) is not the answer's: the final one is still to come.
	if code >= 200 {
		s.started = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *startedWriter) Write(p []byte) (int, error) {
	s.started = true
	return s.ResponseWriter.Write(p)
}

func (s *startedWriter) Flush() {
	s.started = true
	http.NewResponseController(s.ResponseWriter).Flush() //nolint:errcheck // as http.Flusher, which returns nothing
}

func (s *startedWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
